"""The kill switch's buttons: pause and resume from the queue and the run page (POST with CSRF), the banner
listing active pauses, the audit records of both, and a refusal (403, nothing changed) for a user without
the permission."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from approvals.models import ApprovalRequest
from audit.models import AuditRecord
from governance import pauses
from governance.models import Pause
from tests.factories import make_user, paused_run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_tools_registered")]


@pytest.fixture
def rita(client):
    """A reviewer who may pause, signed in."""
    user = make_user("rita", reviewer=True)
    user.user_permissions.add(Permission.objects.get(codename="pause_decisions"))
    client.force_login(user)
    return user


def configuration_records() -> list[tuple[str, str, str]]:
    return list(AuditRecord.objects.filter(kind="configuration", reason__startswith="pause ").order_by("id")
                .values_list("status", "actor", "reason"))


def test_a_reviewer_pauses_a_tool_from_the_queue_and_resumes_it_both_recorded(client, rita):
    queue = reverse("approvals:queue")

    response = client.post(reverse("approvals:pause"), {"scope": "tool", "value": "refund_payment", "next": queue})

    assert (response.status_code, response["Location"]) == (302, queue)
    [pause] = Pause.objects.active()
    assert (pause.what, pause.paused_by_name) == ("tool refund_payment", "rita")
    page = client.get(queue).content.decode()
    assert "tool refund_payment paused by rita at " in page
    assert f'action="{reverse("approvals:resume", args=[pause.pk])}"' in page

    response = client.post(reverse("approvals:resume", args=[pause.pk]), {"next": queue})

    assert (response.status_code, Pause.objects.active().count()) == (302, 0)
    assert configuration_records() == [
        ("created", "rita", "pause “tool refund_payment” created"),
        ("changed", "rita", "pause “tool refund_payment” changed: resumed_at, resumed_by_name"),
    ]
    assert 'id="pauses"' not in client.get(queue).content.decode()


def test_the_run_page_offers_the_runs_tools_actor_domain_and_everything(client, rita):
    run = paused_run(make_user("olivia"))

    page = client.get(run.get_absolute_url()).content.decode()

    offered = [chunk.split('"')[0] for chunk in page.split('data-pause="')[1:]]
    assert offered == ["tool:refund_payment", "actor:dashboard", "domain:customer_transactions", "everything:"]


@pytest.mark.parametrize("who", ["operator", "reviewer"])
def test_pause_is_refused_to_a_user_without_the_permission_and_changes_nothing(client, who):
    user = make_user("rob", reviewer=who == "reviewer")
    run = paused_run(user if who == "operator" else make_user("olivia"))
    client.force_login(user)

    response = client.post(reverse("approvals:pause"), {"scope": "everything", "value": ""})

    assert response.status_code == 403
    assert "You may not pause decisions" in response.content.decode()
    assert (Pause.objects.count(), configuration_records()) == (0, [])
    assert 'id="kill-switch"' not in client.get(run.get_absolute_url()).content.decode()
    assert 'id="kill-switch"' not in client.get(reverse("approvals:queue")).content.decode()


def test_resume_is_refused_to_a_user_without_the_permission_and_the_pause_stays(client, rita):
    pause, _ = pauses.pause(scope="everything", by=rita)
    client.force_login(make_user("rob", reviewer=True))

    response = client.post(reverse("approvals:resume", args=[pause.pk]))

    assert response.status_code == 403
    assert list(Pause.objects.active()) == [pause]
    page = client.get(reverse("approvals:queue")).content.decode()
    assert "everything paused by rita at " in page  # the banner is shown to everyone...
    assert "resume-pause" not in page  # ...its Resume button only to those who may


def test_pause_needs_post_and_a_csrf_token(rita):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(rita)

    assert browser.get(reverse("approvals:pause")).status_code == 405
    assert browser.post(reverse("approvals:pause"), {"scope": "everything"}).status_code == 403
    assert Pause.objects.count() == 0


def test_pause_goes_back_only_to_a_page_of_this_site(client, rita):
    response = client.post(reverse("approvals:pause"), {"scope": "everything", "next": "https://evil.example/"})

    assert response["Location"] == reverse("approvals:queue")


def test_pausing_leaves_waiting_requests_pending(client, rita):
    approval = ApprovalRequest.objects.get(run=paused_run(make_user("olivia")))

    client.post(reverse("approvals:pause"), {"scope": "everything"})

    approval.refresh_from_db()
    assert approval.status == "pending"
    assert f'href="{reverse("approvals:detail", args=[approval.pk])}"' in client.get(
        reverse("approvals:queue")).content.decode()
