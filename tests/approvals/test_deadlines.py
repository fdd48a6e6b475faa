"""Deadlines of approval requests, on a controlled clock: every request gets its tool's window (or the
default), a reminder once at half-time, one escalation to the tool's escalation group with a new window,
then expiry; an expired request is never approved, and two beat runs at once do each step once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone

from approvals import deadlines
from approvals import services as approvals
from approvals.models import ApprovalRequest, ApprovalStatus
from approvals.signals import approval_escalated, approval_reminder_due, approval_resolved
from audit.models import AuditRecord
from governance import permissions
from governance.models import ToolRegistration
from runs.models import Run, RunStatus
from tests.factories import make_user, register_demo_tools

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_tools_registered")]

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    """`django.utils.timezone.now` under the test's control."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, seconds: float) -> datetime:
        self.now = T0 + timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(T0)
    monkeypatch.setattr(timezone, "now", clock)
    return clock


@pytest.fixture
def sent():
    """The deadline signals sent, as (signal name, approval id), in order."""
    received: list[tuple[str, int]] = []
    receivers = {}
    for name, signal in (("reminder", approval_reminder_due), ("escalated", approval_escalated),
                         ("resolved", approval_resolved)):
        def receiver(*, approval, _name=name, **_kwargs):
            received.append((_name, approval.pk))
        receivers[name] = receiver
        signal.connect(receiver, dispatch_uid=f"test_deadlines.{name}")
    yield received
    for name, signal in (("reminder", approval_reminder_due), ("escalated", approval_escalated),
                         ("resolved", approval_resolved)):
        signal.disconnect(dispatch_uid=f"test_deadlines.{name}")


@pytest.fixture
def escalation(db) -> Group:
    """refund_payment waits 600 s, then escalates to "finance-leads" (ella, who is no reviewer)."""
    group = Group.objects.create(name="finance-leads")
    make_user("ella").groups.add(group)
    ToolRegistration.objects.filter(name="refund_payment").update(approval_window_seconds=600, escalation_group=group)
    return group


def _request(user, *, tool: str = "refund_payment", n: int = 1) -> ApprovalRequest:
    """A request raised the way the worker raises it (services.create_request), at the clock's time."""
    run = Run.objects.create(started_by=user, prompt=f"Refund order ord_{n} for 250", model="gpt-4.1",
                             status=RunStatus.AWAITING_APPROVAL)
    event = {"call_id": f"call_{n}", "tool": tool, "arguments": {"order_id": f"ord_{n}", "amount": 250},
             "decision": {"outcome": "requires_approval", "reason": "above 100"}}
    return approvals.create_request(run=run, event=event)


def _audit(approval) -> list[str]:
    return list(AuditRecord.objects.filter(approval_id=approval.pk).order_by("id").values_list("status", flat=True))


def test_request_gets_its_tools_window_and_half_time(clock, operator):
    ToolRegistration.objects.filter(name="refund_payment").update(approval_window_seconds=600)
    approval = _request(operator)
    assert (approval.expires_at, approval.remind_at) == (T0 + timedelta(seconds=600), T0 + timedelta(seconds=300))


def test_request_without_a_window_gets_the_default(clock, operator, settings):
    settings.GOVERNANCE_APPROVAL_TTL_SECONDS = 3600
    registered, unregistered = _request(operator), _request(operator, tool="remote_only_tool", n=2)
    assert registered.expires_at == unregistered.expires_at == T0 + timedelta(seconds=3600)
    assert registered.remind_at == T0 + timedelta(seconds=1800)


def test_reminder_is_sent_once_at_half_time(clock, operator, escalation, sent):
    approval = _request(operator)
    assert deadlines.process_due(clock.at(299)) == deadlines.Processed()
    assert deadlines.process_due(clock.at(300)) == deadlines.Processed(reminded=1)
    assert deadlines.process_due(clock.at(400)) == deadlines.Processed()
    assert sent == [("reminder", approval.pk)]
    approval.refresh_from_db()
    assert (approval.status, approval.reminded_at) == (ApprovalStatus.PENDING, T0 + timedelta(seconds=300))
    assert _audit(approval) == ["reminder"]


def test_without_escalation_group_it_expires_and_is_never_approved(clock, operator, reviewer, sent):
    ToolRegistration.objects.filter(name="refund_payment").update(approval_window_seconds=600)
    approval = _request(operator)
    assert deadlines.process_due(clock.at(600)) == deadlines.Processed(expired=1)
    approval.refresh_from_db()
    assert (approval.status, approval.cause, approval.comment) == (
        ApprovalStatus.EXPIRED, "expiry", "expired: nobody approved within 600 seconds")
    assert sent == [("resolved", approval.pk)]  # overdue first: no late reminder for an expired request
    with pytest.raises(approvals.AlreadyResolved, match=r"^Already expired at "):
        approvals.resolve_approval(approval_id=approval.pk, reviewer=reviewer, resolution="approved")
    assert _audit(approval) == ["expired"]


def test_a_reviewer_past_the_deadline_cannot_approve_before_beat_runs(clock, operator, reviewer, sent):
    ToolRegistration.objects.filter(name="refund_payment").update(approval_window_seconds=600)
    approval = _request(operator)
    clock.at(601)
    with pytest.raises(approvals.AlreadyResolved, match=r"^Already expired at "):
        approvals.resolve_approval(approval_id=approval.pk, reviewer=reviewer, resolution="approved")
    approval.refresh_from_db()
    assert (approval.status, approval.resolved_by) == (ApprovalStatus.EXPIRED, None)
    assert sent == [("resolved", approval.pk)]


def test_escalates_once_with_a_new_window_then_expires(clock, operator, escalation, sent):
    approval = _request(operator)
    deadlines.process_due(clock.at(300))
    assert deadlines.process_due(clock.at(600)) == deadlines.Processed(escalated=1)
    approval.refresh_from_db()
    assert (approval.status, approval.escalated_at, approval.escalated_to, approval.expires_at) == (
        ApprovalStatus.PENDING, T0 + timedelta(seconds=600), escalation, T0 + timedelta(seconds=1200))
    assert deadlines.process_due(clock.at(1199)) == deadlines.Processed()  # no second reminder either
    assert deadlines.process_due(clock.at(1200)) == deadlines.Processed(expired=1)
    approval.refresh_from_db()
    assert (approval.status, approval.comment) == (
        ApprovalStatus.EXPIRED, "expired: nobody approved within 600 seconds of its escalation")
    assert sent == [("reminder", approval.pk), ("escalated", approval.pk), ("resolved", approval.pk)]
    assert _audit(approval) == ["reminder", "escalated", "expired"]
    escalated = AuditRecord.objects.get(approval_id=approval.pk, status="escalated")
    assert escalated.reason == "escalated to finance-leads: nobody decided in time"


def test_a_request_escalated_before_its_reminder_is_reminded_at_its_new_half_time(clock, operator, escalation, sent):
    approval = _request(operator)
    assert deadlines.process_due(clock.at(650)) == deadlines.Processed(escalated=1)  # beat was down at half-time
    assert deadlines.process_due(clock.at(949)) == deadlines.Processed()
    assert deadlines.process_due(clock.at(950)) == deadlines.Processed(reminded=1)
    assert sent == [("escalated", approval.pk), ("reminder", approval.pk)]


def test_escalation_group_members_may_see_and_decide_it_once_escalated(clock, operator, reviewer, escalation):
    ella = escalation.user_set.get()
    approval = _request(operator)
    assert (list(ApprovalRequest.objects.queue_for(ella)), permissions.may_resolve(ella, approval)) == ([], False)
    with pytest.raises(approvals.NotAllowed):
        approvals.resolve_approval(approval_id=approval.pk, reviewer=ella, resolution="approved")
    deadlines.process_due(clock.at(600))
    approval = ApprovalRequest.objects.select_related("run").get(pk=approval.pk)
    assert list(ApprovalRequest.objects.queue_for(ella)) == [approval]
    assert [u.username for u in permissions.who_may_resolve(approval)] == ["ella", "rita"]
    approvals.resolve_approval(approval=approval, reviewer=ella, resolution="approved", comment="ok")
    approval.refresh_from_db()
    assert (approval.status, approval.resolved_by) == (ApprovalStatus.APPROVED, ella)


def test_escalation_group_members_decide_it_also_when_the_tool_names_reviewer_groups(clock, operator, reviewer,
                                                                                   escalation):
    """The tool's reviewer groups (approvals/reviewer_groups.py) leave ella out; once the request escalated
    to her group she may decide it all the same, and it is in her queue."""
    ToolRegistration.objects.get(name="refund_payment").reviewer_groups.add(Group.objects.create(name="refunds"))
    ella = escalation.user_set.get()
    approval = _request(operator)
    deadlines.process_due(clock.at(600))
    approval = ApprovalRequest.objects.select_related("run").get(pk=approval.pk)
    assert list(ApprovalRequest.objects.queue_for(ella)) == [approval]
    approvals.resolve_approval(approval=approval, reviewer=ella, resolution="approved")
    approval.refresh_from_db()
    assert (approval.status, approval.resolved_by) == (ApprovalStatus.APPROVED, ella)


def test_the_runs_starter_in_the_escalation_group_still_may_not_decide(clock, operator, escalation):
    operator.groups.add(escalation)
    approval = _request(operator)
    deadlines.process_due(clock.at(600))
    approval = ApprovalRequest.objects.select_related("run").get(pk=approval.pk)
    assert permissions.may_resolve(operator, approval) is False
    assert list(ApprovalRequest.objects.visible_to(operator)) == [approval]  # listed once, not once per member


def test_the_default_must_give_every_request_an_expiry():
    result = subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; "
         "from django.conf import settings; settings.GOVERNANCE_APPROVAL_TTL_SECONDS"],
        env={**os.environ, "GOVERNANCE_APPROVAL_TTL_SECONDS": "0"}, capture_output=True, text=True,
    )
    assert result.returncode == 1
    assert "GOVERNANCE_APPROVAL_TTL_SECONDS must be more than 0" in result.stderr


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("moment", [300, 600, 1200])
def test_two_beat_runs_at_once_do_each_step_once(moment, sent):
    register_demo_tools() if not ToolRegistration.objects.exists() else None
    group = Group.objects.create(name="finance-leads")
    ToolRegistration.objects.filter(name="refund_payment").update(approval_window_seconds=600, escalation_group=group)
    operator = make_user("o3")
    approvals_ = []
    for n in range(5):
        approval = _request(operator, n=n)
        if moment == 1200:  # already escalated once: the next deadline expires it
            ApprovalRequest.objects.filter(pk=approval.pk).update(
                escalated_at=approval.expires_at, expires_at=approval.expires_at + timedelta(seconds=600))
        approvals_.append(approval)
    start = approvals_[-1].requested_at
    barrier, results = threading.Barrier(2), []

    def beat():
        barrier.wait()
        try:
            results.append(deadlines.process_due(start + timedelta(seconds=moment)))
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    kind = {300: "reminder", 600: "escalated", 1200: "resolved"}[moment]
    assert sorted(sent) == sorted((kind, a.pk) for a in approvals_)
    total = deadlines.Processed(*(sum(getattr(r, f) for r in results) for f in ("reminded", "escalated", "expired")))
    assert total == {300: deadlines.Processed(reminded=5), 600: deadlines.Processed(escalated=5),
                     1200: deadlines.Processed(expired=5)}[moment]
