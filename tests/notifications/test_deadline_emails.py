"""The Deadlines feature's notifications, end to end through the email backend: the half-time reminder
reaches the reviewers who may decide the request, its escalation reaches the escalation group's members
too, and its expiry whoever started the run."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core import mail

from approvals import deadlines
from approvals.models import ApprovalRequest
from governance.models import ToolRegistration
from tests.factories import make_user, paused_run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_tools_registered")]


@pytest.fixture
def requested(links, django_capture_on_commit_callbacks) -> ApprovalRequest:
    """olivia's run asks for a refund; rita reviews; refund_payment escalates to ella's finance-leads."""
    group = Group.objects.create(name="finance-leads")
    people = {}
    for name, reviewer in (("olivia", False), ("rita", True), ("ella", False)):
        people[name] = make_user(name, reviewer=reviewer)
        people[name].email = f"{name}@example.com"
        people[name].save()
    group.user_set.add(people["ella"], make_user("eve"))  # eve has no address: skipped
    ToolRegistration.objects.filter(name="refund_payment").update(approval_window_seconds=600, escalation_group=group)
    with django_capture_on_commit_callbacks(execute=True):
        run = paused_run(people["olivia"])
    mail.outbox.clear()
    return ApprovalRequest.objects.get(run=run)


def _sent() -> list[tuple[str, str]]:
    return sorted((m.subject.split(":")[0], m.to[0]) for m in mail.outbox)


def test_half_time_reminder_is_emailed_to_the_reviewers(requested, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        deadlines.process_due(requested.remind_at)
        deadlines.process_due(requested.remind_at)
    assert _sent() == [("Reminder", "rita@example.com")]


def test_escalation_is_emailed_to_the_escalation_group_and_reviewers(requested, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        deadlines.process_due(requested.expires_at)
    assert _sent() == [("Escalated", "ella@example.com"), ("Escalated", "rita@example.com")]
    requested.refresh_from_db()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        deadlines.process_due(requested.expires_at)
    assert _sent() == [("Approval expired", "olivia@example.com")]
