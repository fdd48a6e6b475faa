"""Emails about approval requests: new requests reach exactly the reviewers who may decide them, a
resolution or an expiry reaches whoever started the run, and the one link opens the request's page
after login without deciding anything."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.utils import timezone

from approvals.models import ApprovalRequest, ApprovalStatus
from approvals.services import expire_overdue, resolve_approval
from approvals.signals import approval_escalated, approval_reminder_due
from tests.factories import make_user, paused_run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_tools_registered")]


def _with_email(user, *, active: bool = True):
    user.email, user.is_active = f"{user.username}@example.com", active
    user.save()
    return user


@pytest.fixture
def team(db):
    """olivia (a reviewer) starts runs; rita and root may decide them; rob has no address, ivy left, otto is
    no reviewer."""
    from django.contrib.auth.models import User

    people = {name: _with_email(make_user(name, reviewer=True)) for name in ("olivia", "rita")}
    people["rob"] = make_user("rob", reviewer=True)
    people["ivy"] = _with_email(make_user("ivy", reviewer=True), active=False)
    people["otto"] = _with_email(make_user("otto"))
    people["root"] = _with_email(User.objects.create_superuser("root", password="pw-root"))
    return people


@pytest.fixture
def requested(team, links, django_capture_on_commit_callbacks) -> ApprovalRequest:
    """A request raised by olivia's run, with the emails its raising sent."""
    with django_capture_on_commit_callbacks(execute=True):
        run = paused_run(team["olivia"])
    return ApprovalRequest.objects.select_related("run").get(run=run)


def _urls(text: str) -> list[str]:
    return re.findall(r"https?://\S+", text)


def test_new_request_emails_exactly_the_reviewers_who_may_decide_it(requested, links):
    assert sorted(m.to[0] for m in mail.outbox) == ["rita@example.com", "root@example.com"]
    assert all(len(m.to) == 1 and not m.cc and not m.bcc for m in mail.outbox)
    message = mail.outbox[0]
    assert message.subject == f"Approval requested: refund_payment on run {str(requested.run_id)[:8]}"
    assert _urls(message.body) == [f"{links}/approvals/{requested.pk}/"]
    assert '"amount": 250' in message.body
    assert "Nothing is approved or denied by following it" in message.body


def test_email_link_opens_the_page_after_login_and_decides_nothing(requested, team, client, links):
    [url] = _urls(mail.outbox[0].body)
    path = url.removeprefix(links)
    response = client.get(path)
    assert (response.status_code, response["Location"]) == (302, f"/accounts/login/?next={path}")
    client.force_login(team["rita"])
    page = client.get(path)
    assert page.status_code == 200
    assert 'method="post"' in page.content.decode()  # deciding is the page's form, not the link
    requested.refresh_from_db()
    assert requested.status == ApprovalStatus.PENDING


def test_resolution_is_emailed_to_whoever_started_the_run(requested, team, links, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        resolve_approval(approval=requested, reviewer=team["rita"], resolution="denied",
                         comment="too much; and the key sk-live0123456789abcdef leaked")
    [message] = mail.outbox
    assert message.to == ["olivia@example.com"]
    assert message.subject == f"Request denied by rita: refund_payment on run {str(requested.run_id)[:8]}"
    assert "Comment: too much; and the key [secret] leaked\n" in message.body  # scrubbed as the audit is
    assert _urls(message.body) == [f"{links}/approvals/{requested.pk}/"]


def test_expiry_is_emailed_to_whoever_started_the_run(requested, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert expire_overdue(now=timezone.now() + timezone.timedelta(days=2)) == 1
    [message] = mail.outbox
    assert (message.to, message.subject.split(":")[0]) == (["olivia@example.com"], "Approval expired")


def test_deadlines_signals_remind_and_escalate_to_the_reviewers(requested, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        approval_reminder_due.send(sender=ApprovalRequest, approval=requested)
        approval_escalated.send(sender=ApprovalRequest, approval=requested)
    assert sorted((m.subject.split(":")[0], m.to[0]) for m in mail.outbox) == [
        ("Escalated", "rita@example.com"), ("Escalated", "root@example.com"),
        ("Reminder", "rita@example.com"), ("Reminder", "root@example.com")]


def test_self_approval_setting_adds_the_runs_starter(team, links, settings, django_capture_on_commit_callbacks):
    settings.GOVERNANCE_ALLOW_SELF_APPROVAL = True
    with django_capture_on_commit_callbacks(execute=True):
        paused_run(team["olivia"])
    assert sorted(m.to[0] for m in mail.outbox) == ["olivia@example.com", "rita@example.com", "root@example.com"]
