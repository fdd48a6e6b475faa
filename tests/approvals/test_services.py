"""Resolving an approval request through the services, and what each resolution does to the paused
run, with the real runner, engine and demo model: approve runs the call once, deny and expiry tell
the model why, and a call whose tool, policy or arguments changed since the request never runs."""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest
from django.db import connection

from approvals import services as approvals
from approvals.models import ApprovalRequest, ApprovalStatus
from governance.models import ToolRegistration
from runs import worker
from runs.models import Run, RunStatus
from runs.state_store import StoredState
from tests.factories import make_user, register_demo_tools, start_run_now
from tests.support import demo_tools

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_tools_registered")]


def _statuses(run: Run) -> list[str]:
    return [e.payload["status"] for e in run.events.filter(type="execution_event")]


def test_approve_resumes_and_runs_tool_once(operator, reviewer):
    run = start_run_now(operator, "Refund order ord_7 for 250")
    approval = ApprovalRequest.objects.get(run=run)
    approvals.resolve_approval(approval_id=approval.pk, reviewer=reviewer, resolution="approved", comment="fine")
    worker.resume_run(run_id=run.pk)
    worker.resume_run(run_id=run.pk)  # a retried task finds nothing left to do
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert demo_tools.EXECUTIONS == [{"tool": "refund_payment", "order_id": "ord_7", "amount": 250.0}]
    assert _statuses(run) == ["approval_required", "executed"]
    assert "re_ord_7" in run.final_text


def test_second_click_is_refused_with_who_resolved(operator, reviewer):
    run = start_run_now(operator, "Refund order ord_7 for 250")
    approval = ApprovalRequest.objects.get(run=run)
    approvals.resolve_approval(approval_id=approval.pk, reviewer=reviewer, resolution="approved")
    other = make_user("rob", reviewer=True)
    with pytest.raises(approvals.AlreadyResolved) as caught:
        approvals.resolve_approval(approval_id=approval.pk, reviewer=other, resolution="denied")
    assert str(caught.value).startswith("Already approved by rita at ")
    approval.refresh_from_db()
    assert (approval.status, approval.resolved_by) == ("approved", reviewer)


@pytest.mark.django_db(transaction=True)
def test_concurrent_approve_and_deny_one_wins_one_execution():
    register_demo_tools() if not ToolRegistration.objects.exists() else None
    operator, first, second = make_user("o2"), make_user("r1", reviewer=True), make_user("r2", reviewer=True)
    run = start_run_now(operator, "Refund order ord_8 for 300")
    approval = ApprovalRequest.objects.get(run=run)
    barrier, outcomes = threading.Barrier(2), []

    def click(user, resolution):
        barrier.wait()
        try:
            approvals.resolve_approval(approval_id=approval.pk, reviewer=user, resolution=resolution)
            outcomes.append("won")
        except approvals.AlreadyResolved:
            outcomes.append("already")
        finally:
            connection.close()

    threads = [threading.Thread(target=click, args=(first, "approved")),
               threading.Thread(target=click, args=(second, "denied"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["already", "won"]
    worker.resume_run(run_id=run.pk)
    worker.resume_run(run_id=run.pk)
    approval.refresh_from_db()
    expected = 1 if approval.status == ApprovalStatus.APPROVED else 0
    assert len([e for e in demo_tools.EXECUTIONS if e["order_id"] == "ord_8"]) == expected
    assert Run.objects.get(pk=run.pk).status == RunStatus.COMPLETED


def test_deny_sends_reason_to_model(operator, reviewer):
    run = start_run_now(operator, "Refund order ord_9 for 500")
    approval = ApprovalRequest.objects.get(run=run)
    approvals.resolve_approval(approval_id=approval.pk, reviewer=reviewer, resolution="denied",
                               comment="customer already refunded")
    worker.resume_run(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert demo_tools.EXECUTIONS == []
    state, _stored = StoredState.load(run)
    outputs = [i for i in state.items if i.get("type") == "function_call_output"]
    assert json.loads(outputs[-1]["output"]) == {"status": "denied", "reason": "customer already refunded"}
    assert _statuses(run) == ["approval_required", "denied"]


def test_expiry_counts_as_denial(operator, settings):
    run = start_run_now(operator, "Refund order ord_10 for 500")
    ApprovalRequest.objects.filter(run=run).update(expires_at="2000-01-01T00:00:00Z")
    assert approvals.expire_overdue() == 1
    worker.resume_run(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert _statuses(run) == ["approval_required", "expired"]
    assert demo_tools.EXECUTIONS == []


def test_self_approval_refused_by_default(reviewer):
    run = start_run_now(reviewer, "Refund order ord_11 for 500")
    approval = ApprovalRequest.objects.get(run=run)
    with pytest.raises(approvals.NotAllowed) as caught:
        approvals.resolve_approval(approval_id=approval.pk, reviewer=reviewer, resolution="approved")
    assert str(caught.value) == "you started this run, so someone else must review its requests"
    assert ApprovalRequest.objects.get(pk=approval.pk).status == "pending"


def test_non_reviewer_cannot_resolve(operator):
    run = start_run_now(operator, "Refund order ord_12 for 500")
    approval = ApprovalRequest.objects.get(run=run)
    with pytest.raises(approvals.NotAllowed) as caught:
        approvals.resolve_approval(approval_id=approval.pk, reviewer=make_user("mallory"), resolution="approved")
    assert str(caught.value) == "only members of the reviewers group may approve or deny"


def test_policy_tightened_after_approval_blocks_call(operator, reviewer):
    run = start_run_now(operator, "Refund order ord_13 for 500")
    approval = ApprovalRequest.objects.get(run=run)
    approvals.resolve_approval(approval_id=approval.pk, reviewer=reviewer, resolution="approved")
    ToolRegistration.objects.filter(name="refund_payment").update(block_above=Decimal("400"))
    worker.resume_run(run_id=run.pk)
    run.refresh_from_db()
    assert demo_tools.EXECUTIONS == []
    assert _statuses(run) == ["approval_required", "blocked"]
    assert run.status == RunStatus.COMPLETED


def test_tampered_digest_never_runs(operator, reviewer):
    run = start_run_now(operator, "Refund order ord_14 for 500")
    approval = ApprovalRequest.objects.get(run=run)
    ApprovalRequest.objects.filter(pk=approval.pk).update(arguments_digest="0" * 64)
    approvals.resolve_approval(approval_id=approval.pk, reviewer=reviewer, resolution="approved")
    worker.resume_run(run_id=run.pk)
    run.refresh_from_db()
    assert demo_tools.EXECUTIONS == []
    assert _statuses(run) == ["approval_required", "denied"]


def test_disabled_tool_after_approval_never_runs(operator, reviewer):
    run = start_run_now(operator, "Refund order ord_15 for 500")
    approval = ApprovalRequest.objects.get(run=run)
    approvals.resolve_approval(approval_id=approval.pk, reviewer=reviewer, resolution="approved")
    ToolRegistration.objects.filter(name="refund_payment").update(enabled=False)
    worker.resume_run(run_id=run.pk)
    assert demo_tools.EXECUTIONS == []
    assert Run.objects.get(pk=run.pk).status == RunStatus.COMPLETED
