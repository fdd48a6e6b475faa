"""The approval page and its approve/deny POST name who caused a resolution: a reviewer, the person who
cancelled the run, the run's failure or expiry, each in its own words."""

from __future__ import annotations

import pytest
from django.urls import reverse

from approvals.models import ApprovalRequest
from runs.models import Run
from runs.recovery import recover_stalled_runs
from tests.factories import make_user, start_run_now

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _demo(demo_tools_registered):
    pass


@pytest.fixture
def paused(operator) -> ApprovalRequest:
    run = start_run_now(operator, "Refund order ord_7 for 250")
    return ApprovalRequest.objects.get(run=run)


def _page(client, approval) -> str:
    return client.get(reverse("approvals:detail", args=[approval.pk])).content.decode()


def test_approval_denied_by_a_cancel_names_who_cancelled(client, operator, paused):
    client.force_login(operator)
    client.post(reverse("runs:cancel", args=[paused.run_id]), {"confirm": "yes"})

    page = _page(client, paused)

    assert "Denied because olivia cancelled the run at " in page
    assert "expiry" not in page


def test_approving_a_request_a_cancel_denied_is_409_naming_who_cancelled(client, operator, reviewer, paused):
    client.force_login(operator)
    client.post(reverse("runs:cancel", args=[paused.run_id]), {"confirm": "yes"})
    client.force_login(reviewer)

    response = client.post(reverse("approvals:detail", args=[paused.pk]), {"resolution": "approved"})

    assert response.status_code == 409
    assert "Already denied because olivia cancelled the run at " in response.content.decode()
    assert "expiry" not in response.content.decode()


def test_approval_denied_because_its_run_failed_names_no_person(client, operator, paused, settings):
    settings.GOVERNANCE_RUN_MAX_RECOVERIES = 0
    Run.objects.filter(pk=paused.run_id).update(status="running", heartbeat_at="2000-01-01T00:00:00Z")
    assert recover_stalled_runs() == 1
    client.force_login(operator)

    page = _page(client, paused)

    assert "Denied because the run failed at " in page
    assert "expiry" not in page


def test_approval_denied_by_a_reviewer_names_them(client, operator, reviewer, paused):
    client.force_login(reviewer)
    client.post(reverse("approvals:detail", args=[paused.pk]), {"resolution": "denied", "comment": "no"})

    assert "Denied by rita at " in _page(client, paused)


def test_expired_request_says_it_expired(client, operator, paused):
    from approvals.services import expire_overdue

    ApprovalRequest.objects.filter(pk=paused.pk).update(expires_at="2000-01-01T00:00:00Z")
    assert expire_overdue() == 1
    client.force_login(make_user("rob", reviewer=True))

    assert "Expired at " in _page(client, paused)


def test_approving_through_the_page_costs_a_fixed_number_of_queries(client, paused, reviewer, monkeypatch,
                                                                   django_assert_num_queries):
    """Session, user, permissions (2), the request with its run (read once), who may vote on it and how
    many approvals its tool needs (one query, approvals/quorum.py), the conditional UPDATE, and its audit
    record (the tool's context and the record: no chain head, the sealer chains it later), with the
    savepoints of the atomic blocks; then the reviewer's queue, for the next request to decide. 10 before
    issue 13; +1 for reviewer groups and quorums, +1 for sending the reviewer on to the next request."""
    monkeypatch.setattr("audit.recorders._tool_contexts", {})  # the tool's domain/actor is read, not cached
    client.force_login(reviewer)
    with django_assert_num_queries(12):
        response = client.post(reverse("approvals:detail", args=[paused.pk]), {"resolution": "approved"})
    assert response.status_code == 302
    assert ApprovalRequest.objects.get(pk=paused.pk).status == "approved"
