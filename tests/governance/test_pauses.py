"""The kill switch's effect on decisions: a pause of a tool, an actor, a domain or everything blocks the new
calls it covers, naming who paused it and when; resume restores policy; requests already waiting stay
pending, and an approved call of a paused tool is blocked when re-checked before it runs."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission

from approvals.models import ApprovalRequest
from approvals.services import resolve_approval
from governance import pauses
from governance.models import Pause
from runs import worker
from runs.models import Run
from tests.factories import make_user, paused_run, start_run_now
from tests.support import demo_tools

pytestmark = pytest.mark.django_db

PAUSED_BY_RITA = re.compile(r"paused by rita at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")


@pytest.fixture
def rita(db):
    """A reviewer who may pause."""
    user = make_user("rita", reviewer=True)
    user.user_permissions.add(Permission.objects.get(codename="pause_decisions"))
    return user


def calls(run: Run) -> list[tuple[str, str, str]]:
    """(tool, status, reason) of each settled or waiting call of the run, in order."""
    return [(e.payload["tool"], e.payload["status"], e.payload["reason"])
            for e in run.events.filter(type="execution_event").order_by("seq")]


@pytest.mark.parametrize(("scope", "value"), [
    ("tool", "lookup_order"), ("actor", "dashboard"), ("domain", "customer_transactions"), ("everything", ""),
])
def test_a_pause_blocks_the_new_calls_it_covers_naming_who_and_when(demo_tools_registered, operator, rita, scope,
                                                                    value):
    pause, new = pauses.pause(scope=scope, value=value, by=rita)

    run = start_run_now(operator, "Look up order ord_5", tools=("lookup_order",))

    [(tool, status, reason)] = calls(run)
    assert (new, tool, status) == (True, "lookup_order", "blocked")
    assert reason.startswith(f"{pause.what} paused by rita at ")
    assert PAUSED_BY_RITA.search(reason)
    assert demo_tools.EXECUTIONS == []


@pytest.mark.parametrize(("scope", "value"), [
    ("tool", "refund_payment"), ("actor", "someone_else"), ("domain", "hr"),
])
def test_a_pause_leaves_calls_it_does_not_cover_to_policy(demo_tools_registered, operator, rita, scope, value):
    pauses.pause(scope=scope, value=value, by=rita)

    run = start_run_now(operator, "Look up order ord_5", tools=("lookup_order",))

    assert [status for _, status, _ in calls(run)] == ["executed"]


def test_resume_restores_decisions_by_policy(demo_tools_registered, operator, rita):
    pause, _ = pauses.pause(scope="tool", value="lookup_order", by=rita)

    resumed = pauses.resume(pause_id=pause.pk, by=rita)
    run = start_run_now(operator, "Look up order ord_5", tools=("lookup_order",))

    assert (resumed.resumed_by_name, Pause.objects.active().count()) == ("rita", 0)
    assert [status for _, status, _ in calls(run)] == ["executed"]
    assert [e["tool"] for e in demo_tools.EXECUTIONS] == ["lookup_order"]


def test_pausing_twice_keeps_the_first_pause_and_resuming_twice_changes_nothing(demo_tools_registered, rita):
    first, _ = pauses.pause(scope="tool", value="refund_payment", by=rita)
    again, new = pauses.pause(scope="tool", value="refund_payment", by=rita)

    assert (again.pk, new) == (first.pk, False)
    assert pauses.resume(pause_id=first.pk, by=rita) is not None
    assert pauses.resume(pause_id=first.pk, by=rita) is None


def test_a_pending_request_stays_pending_and_its_approved_call_is_blocked_when_rechecked(
        demo_tools_registered, operator, rita):
    run = paused_run(operator)
    approval = ApprovalRequest.objects.select_related("run").get(run=run)

    pauses.pause(scope="tool", value="refund_payment", by=rita)
    approval.refresh_from_db()
    assert approval.status == "pending"

    resolve_approval(approval=approval, reviewer=rita, resolution="approved", comment="")
    worker.resume_run(run_id=run.pk)  # the resume queued after commit does not run inside a test transaction
    run.refresh_from_db()

    (_, first, _), (tool, status, reason) = calls(run)
    assert (first, tool, status) == ("approval_required", "refund_payment", "blocked")
    assert reason.startswith("approved, but no longer allowed when re-checked before running: "
                             "tool refund_payment paused by rita at ")
    assert demo_tools.EXECUTIONS == []


def test_pause_and_resume_refuse_a_reviewer_without_the_permission(demo_tools_registered, rita):
    reviewer = make_user("rob", reviewer=True)
    pause, _ = pauses.pause(scope="everything", by=rita)

    with pytest.raises(pauses.NotAllowed):
        pauses.pause(scope="tool", value="refund_payment", by=reviewer)
    with pytest.raises(pauses.NotAllowed):
        pauses.resume(pause_id=pause.pk, by=reviewer)
    assert list(Pause.objects.active()) == [pause]


@pytest.mark.parametrize("scope", ["tool", "actor", "domain", "nonsense"])
def test_a_pause_that_names_nothing_is_refused(rita, scope):
    with pytest.raises(pauses.PauseError):
        pauses.pause(scope=scope, value="  ", by=rita)
    assert Pause.objects.count() == 0
