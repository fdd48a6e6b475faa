"""Batch decisions (approvals/batch.py) with the real runner and demo model: each request is resolved on
its own with the one comment, and one that fails, at the click or at the re-check before its call runs,
leaves the others resolved and their calls run."""

from __future__ import annotations

from decimal import Decimal

import pytest

from approvals import batch
from approvals.models import ApprovalRequest, DenyReason
from approvals.services import resolve_approval
from governance.models import ToolRegistration
from runs import worker
from runs.models import RunStatus
from tests.factories import make_user, start_run_now
from tests.support import demo_tools

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_tools_registered")]


def _paused(user, order: int, amount: int = 250) -> ApprovalRequest:
    run = start_run_now(user, f"Refund order ord_{order} for {amount}", tools=("refund_payment",))
    return ApprovalRequest.objects.select_related("run").get(run=run)


def test_batch_approval_mixed_successes_and_failures_one_comment(operator, reviewer):
    first, second, taken = _paused(operator, 1), _paused(operator, 2), _paused(operator, 3)
    own = _paused(reviewer, 4)  # a run the reviewer started: someone else must review it
    resolve_approval(approval=taken, reviewer=make_user("rob", reviewer=True), resolution="denied", comment="no")

    outcomes = batch.resolve_many(approval_ids=[first.pk, taken.pk, own.pk, 999_999, second.pk], reviewer=reviewer,
                                  resolution="approved", comment="checked the batch")

    assert [(o.approval_id, o.ok) for o in outcomes] == [
        (first.pk, True), (taken.pk, False), (own.pk, False), (999_999, False), (second.pk, True)]
    messages = {o.approval_id: o.message for o in outcomes}
    assert messages[taken.pk].startswith("Already denied by rob at ")
    assert messages[own.pk] == "you started this run, so someone else must review its requests"
    assert messages[999_999] == "there is no such request, or you may not see it"
    resolved = ApprovalRequest.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", "comment",
                                                                                        "resolved_by__username")
    assert list(resolved) == [("approved", "checked the batch", "rita")] * 2
    assert ApprovalRequest.objects.get(pk=own.pk).status == "pending"
    for approval in (first, second):
        worker.resume_run(run_id=approval.run_id)  # the resume queued after commit does not run in a test transaction
    assert sorted(e["order_id"] for e in demo_tools.EXECUTIONS) == ["ord_1", "ord_2"]


def test_batch_denial_sends_the_preset_and_comment_to_every_model(operator, reviewer):
    reason = DenyReason.objects.create(text="Refunds are frozen")
    approvals = [_paused(operator, n) for n in (11, 12)]
    outcomes = batch.resolve_many(approval_ids=[a.pk for a in approvals], reviewer=reviewer, resolution="denied",
                                  comment="until Monday", deny_reason_id=reason.pk)
    assert [o.ok for o in outcomes] == [True, True]
    for approval in approvals:
        worker.resume_run(run_id=approval.run_id)
        approval.run.refresh_from_db()
        assert approval.run.status == RunStatus.COMPLETED
        assert "Refunds are frozen: until Monday" in approval.run.final_text
    assert demo_tools.EXECUTIONS == []


def test_a_call_blocked_on_recheck_leaves_the_rest_of_the_batch_run(operator, reviewer):
    small, large = _paused(operator, 21, amount=250), _paused(operator, 22, amount=900)
    outcomes = batch.resolve_many(approval_ids=[small.pk, large.pk], reviewer=reviewer, resolution="approved")
    assert [o.ok for o in outcomes] == [True, True]
    ToolRegistration.objects.filter(name="refund_payment").update(block_above=Decimal("500"))  # policy tightened
    for approval in (small, large):
        worker.resume_run(run_id=approval.run_id)
    assert demo_tools.EXECUTIONS == [{"tool": "refund_payment", "order_id": "ord_21", "amount": 250.0}]
    events = large.run.events.filter(type="execution_event").values_list("payload__status", flat=True)
    assert list(events) == ["approval_required", "blocked"]


def test_batch_of_someone_who_may_not_resolve_changes_nothing(operator):
    approvals = [_paused(operator, n) for n in (31, 32)]
    outcomes = batch.resolve_many(approval_ids=[a.pk for a in approvals], reviewer=operator, resolution="approved")
    # The operator sees their own runs' requests, but only reviewers may resolve them.
    assert [o.message for o in outcomes] == ["only members of the reviewers group may approve or deny"] * 2
    assert set(ApprovalRequest.objects.values_list("status", flat=True)) == {"pending"}


def test_all_matching_stops_at_the_newest_request_the_page_showed(operator):
    older, shown_last = _paused(operator, 41), _paused(operator, 42)
    _paused(operator, 43)  # arrived after the page showed its count
    queue = ApprovalRequest.objects.queue_for(make_user("rob", reviewer=True))
    assert batch.matching_ids(queue, upto=shown_last.pk) == [older.pk, shown_last.pk]
    assert batch.listing(queue)["matching_count"] == 3
