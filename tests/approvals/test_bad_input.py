"""Bad input at the approve/deny door: each gets a clear error and changes nothing.

The approve/deny form (also with a forged or missing CSRF token), and approval ids that do not
exist or belong to a run the user may not see. "Nothing changed" is `tests.support.doors.snapshot`.
The other doors are tested with their code (tests/runs/test_bad_input.py, tests/runs/test_consumers.py,
tests/governance/test_admin.py).
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from approvals.models import ApprovalRequest, DenyReason
from tests.factories import make_user
from tests.support.doors import FORGED, csrf_client, snapshot

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_tools_registered")]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        pytest.param({}, "This field is required.", id="resolution-missing"),
        pytest.param({"resolution": "expired"}, "Select a valid choice. expired is not one of the available",
                     id="resolution-expired"),
        pytest.param({"resolution": "APPROVED"}, "Select a valid choice. APPROVED is not one of the available",
                     id="resolution-wrong-case"),
        pytest.param({"resolution": "denied", "deny_reason": "abc"}, "Select a valid choice.", id="reason-not-int"),
        pytest.param({"resolution": "denied", "deny_reason": "1.5"}, "Select a valid choice.", id="reason-float"),
        pytest.param({"resolution": "denied", "deny_reason": "999999"}, "Select a valid choice.",
                     id="reason-nonexistent"),
        pytest.param({"resolution": "denied", "deny_reason": "9" * 30}, "Select a valid choice.",
                     id="reason-out-of-range"),
        pytest.param({"resolution": "denied", "comment": "c" * 2001}, "at most 2000 characters",
                     id="comment-oversized"),
    ],
)
def test_resolve_form_bad_post_is_400_with_error_and_changes_nothing(client, paused, reviewer, data, error):
    client.force_login(reviewer)
    before = snapshot()
    response = client.post(reverse("approvals:detail", args=[paused.pk]), data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert snapshot() == before
    assert ApprovalRequest.objects.get(pk=paused.pk).status == "pending"


def test_resolve_with_retired_deny_reason_is_400_with_error(client, paused, reviewer):
    """A reason an admin switched off while the reviewer had the page open."""
    reason = DenyReason.objects.create(text="Duplicate refund", active=False)
    client.force_login(reviewer)
    before = snapshot()
    response = client.post(reverse("approvals:detail", args=[paused.pk]),
                           {"resolution": "denied", "deny_reason": str(reason.pk)})
    assert response.status_code == 400
    assert "Select a valid choice. That choice is not one of the available choices." in response.content.decode()
    assert snapshot() == before


def test_approval_id_that_does_not_exist_is_404(client, paused, reviewer):
    client.force_login(reviewer)
    before = snapshot()
    url = reverse("approvals:detail", args=[paused.pk + 1000])
    assert client.get(url).status_code == 404
    response = client.post(url, {"resolution": "approved"})
    assert response.status_code == 404
    assert "no such run or approval request, or you may not see it" in response.content.decode()
    assert snapshot() == before


def test_approval_of_a_run_the_user_may_not_see_is_404(client, paused):
    stranger = make_user("oscar")
    client.force_login(stranger)
    before = snapshot()
    url = reverse("approvals:detail", args=[paused.pk])
    assert client.get(url).status_code == 404
    for resolution in ("approved", "denied"):
        assert client.post(url, {"resolution": resolution}).status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(("token", "headers"), FORGED)
@pytest.mark.parametrize("resolution", ["approved", "denied"])
def test_forged_csrf_approve_or_deny_is_403_and_changes_nothing(paused, reviewer, resolution, token, headers):
    url = reverse("approvals:detail", args=[paused.pk])
    client, real = csrf_client(reviewer, url)
    before = snapshot()
    response = client.post(url, {"resolution": resolution, **token}, headers=headers)
    assert response.status_code == 403
    assert snapshot() == before
    assert ApprovalRequest.objects.get(pk=paused.pk).status == "pending"
    data = {"resolution": resolution, "comment": "checked", "csrfmiddlewaretoken": real}  # a denial needs a reason
    assert client.post(url, data).status_code == 302
    assert ApprovalRequest.objects.get(pk=paused.pk).status == resolution
