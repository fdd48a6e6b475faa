"""The reviewer pages: the queue, and approve/deny through the request's page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from approvals.models import ApprovalRequest
from tests.factories import make_user, paused_run, pending_approval
from tests.support import demo_tools

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_tools_registered")]


@pytest.fixture
def operator(client):
    user = make_user("olivia")
    client.force_login(user)
    return user


def test_reviewer_approves_through_the_page(client, operator, django_capture_on_commit_callbacks):
    run = paused_run(operator)
    approval = ApprovalRequest.objects.get(run=run)
    reviewer = make_user("rita", reviewer=True)
    client.force_login(reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("approvals:detail", args=[approval.pk]),
                               {"resolution": "approved", "comment": "ok"})
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == "completed"
    assert demo_tools.EXECUTIONS == [{"tool": "refund_payment", "order_id": "ord_7", "amount": 250.0}]


def test_second_approval_click_gets_409_with_message(client, operator, django_capture_on_commit_callbacks):
    run = paused_run(operator)
    approval = ApprovalRequest.objects.get(run=run)
    client.force_login(make_user("rita", reviewer=True))
    url = reverse("approvals:detail", args=[approval.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"resolution": "approved"})
        response = client.post(url, {"resolution": "denied", "comment": "changed my mind"})
    assert response.status_code == 409
    assert "Already approved by rita at" in response.content.decode()
    assert len(demo_tools.EXECUTIONS) == 1


def test_non_reviewer_gets_403(client, operator):
    run = paused_run(operator)
    approval = ApprovalRequest.objects.get(run=run)
    response = client.post(reverse("approvals:detail", args=[approval.pk]), {"resolution": "approved"})
    assert response.status_code == 403
    assert ApprovalRequest.objects.get(pk=approval.pk).status == "pending"


def test_malformed_resolution_post_changes_nothing(client, operator):
    run = paused_run(operator)
    approval = ApprovalRequest.objects.get(run=run)
    client.force_login(make_user("rita", reviewer=True))
    response = client.post(reverse("approvals:detail", args=[approval.pk]), {"resolution": "yolo"})
    assert response.status_code == 400
    assert ApprovalRequest.objects.get(pk=approval.pk).status == "pending"


def test_deny_with_preset_reason_reaches_model(client, operator, django_capture_on_commit_callbacks):
    from approvals.models import DenyReason

    reason = DenyReason.objects.create(text="Customer not eligible")
    run = paused_run(operator)
    approval = ApprovalRequest.objects.get(run=run)
    client.force_login(make_user("rita", reviewer=True))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("approvals:detail", args=[approval.pk]),
                    {"resolution": "denied", "deny_reason": reason.pk, "comment": "refunded last week"})
    run.refresh_from_db()
    assert "Customer not eligible: refunded last week" in run.final_text
    assert demo_tools.EXECUTIONS == []


def test_queue_lists_pending_with_count(client, operator):
    paused_run(operator)
    client.force_login(make_user("rita", reviewer=True))
    body = client.get(reverse("approvals:queue")).content.decode()
    assert '<span id="pending-count" class="count hot" hx-swap-oob="true">1</span>' in body
    assert body.count("review</a>") == 1


@pytest.mark.parametrize("rows", [2, 30])
def test_queue_query_count_does_not_grow_with_rows(reviewer_page, rows):
    """Each row shows the request, its run and who started that run."""
    for i in range(rows):
        pending_approval(make_user(f"op{i}"), i)
    # session, user, user and group permissions, nav count, how many match the filters (and the newest: the
    # batch bar's "all matching"), the rows with runs and starters, the batch bar's preset reasons, the
    # active pauses
    body = reviewer_page(reverse("approvals:queue"), queries=9)
    assert body.count("review</a>") == rows
    assert body.count("</a> by op") == rows
