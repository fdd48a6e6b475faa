"""The approval requests in the Django admin follow the dashboard's rule for who sees which run."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from approvals.models import ApprovalRequest, ApprovalVote
from runs.models import Run
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _request_on_a_run_of(user, call_id: str) -> ApprovalRequest:
    run = Run.objects.create(started_by=user, prompt="p", model="m", status="awaiting_approval")
    return ApprovalRequest.objects.create(run=run, call_id=call_id, tool="refund_payment", arguments={},
                                          arguments_digest="0" * 64, decision={"outcome": "requires_approval"})


def test_admin_list_of_a_staff_operator_shows_only_the_requests_of_their_runs(client):
    operator = make_user("olivia", staff=True)
    operator.user_permissions.add(Permission.objects.get(codename="view_approvalrequest"))
    own = _request_on_a_run_of(operator, "call_own")
    others = _request_on_a_run_of(make_user("owen"), "call_other")
    client.force_login(operator)

    body = client.get(reverse("admin:approvals_approvalrequest_changelist")).content.decode()

    assert reverse("admin:approvals_approvalrequest_change", args=[own.pk]) in body
    assert reverse("admin:approvals_approvalrequest_change", args=[others.pk]) not in body


def test_admin_list_of_a_reviewer_shows_every_request(client):
    reviewer = make_user("rita", reviewer=True, staff=True)
    reviewer.user_permissions.add(Permission.objects.get(codename="view_approvalrequest"))
    requests = [_request_on_a_run_of(make_user(name), f"call_{name}") for name in ("owen", "oscar")]
    client.force_login(reviewer)

    body = client.get(reverse("admin:approvals_approvalrequest_changelist")).content.decode()

    assert [reverse("admin:approvals_approvalrequest_change", args=[r.pk]) in body for r in requests] == [True, True]


def test_admin_page_of_a_quorum_request_lists_who_approved(admin_client):
    approval = _request_on_a_run_of(make_user("owen"), "call_quorum")
    ApprovalVote.objects.create(approval=approval, reviewer=make_user("rita", reviewer=True), comment="checked")

    body = admin_client.get(reverse("admin:approvals_approvalrequest_change", args=[approval.pk])).content.decode()

    assert "rita" in body
    assert "checked" in body
