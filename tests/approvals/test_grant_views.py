"""The grant pages: deciding a request with a grant from its page, the active grants, one-click revoke."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from approvals import grants
from approvals.models import ApprovalRequest, ApprovalStatus, Grant

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_tools_registered")]


def test_the_approval_page_offers_a_grant_only_to_who_may_resolve(client, paused, reviewer, operator):
    client.force_login(reviewer)
    assert 'id="grant-form"' in client.get(reverse("approvals:detail", args=[paused.pk])).content.decode()
    client.force_login(operator)
    assert 'id="grant-form"' not in client.get(reverse("approvals:detail", args=[paused.pk])).content.decode()


def test_approve_and_grant_for_the_rest_of_the_run_from_the_page(client, paused, reviewer):
    client.force_login(reviewer)
    response = client.post(reverse("approvals:grant", args=[paused.pk]),
                           {"grant-resolution": "approved", "grant-scope": "run", "grant-comment": "fine for this run"})

    assert response.status_code == 302
    grant = Grant.objects.get()
    assert (grant.effect, grant.scope, grant.run_id, grant.granted_by, grant.comment) == (
        "approve", "run", paused.run_id, reviewer, "fine for this run")
    paused.refresh_from_db()
    assert paused.status == ApprovalStatus.APPROVED
    page = client.get(response.url).content.decode()
    assert f"and grant #{grant.pk} approves it for the rest of run" in page


def test_an_actor_grant_without_minutes_is_refused_and_changes_nothing(client, paused, reviewer):
    client.force_login(reviewer)
    response = client.post(reverse("approvals:grant", args=[paused.pk]), {"grant-resolution": "approved",
                                                                        "grant-scope": "actor"})

    assert response.status_code == 400
    assert "Say for how many minutes" in response.content.decode()
    paused.refresh_from_db()
    assert (paused.status, Grant.objects.count()) == (ApprovalStatus.PENDING, 0)


def test_who_may_not_resolve_gets_403_and_no_grant(client, paused, operator):
    client.force_login(operator)
    response = client.post(reverse("approvals:grant", args=[paused.pk]),
                           {"grant-resolution": "approved", "grant-scope": "actor", "grant-minutes": "5"})

    assert response.status_code == 403
    assert Grant.objects.count() == 0


def test_the_grants_page_lists_active_grants_with_a_revoke_button(client, paused, reviewer, django_assert_num_queries):
    grant = grants.resolve_with_grant(approval=paused, reviewer=reviewer, resolution="approved", scope="actor",
                                      minutes=30)
    second = ApprovalRequest.objects.create(run=paused.run, call_id="call_2", tool="lookup_order", arguments={},
                                            arguments_digest="x", decision={})
    grants.resolve_with_grant(approval=second, reviewer=reviewer, resolution="denied", scope="run")
    client.force_login(reviewer)

    # session, user, the user's and the groups' permissions, the nav's pending count, then one query for the
    # grants with their people and how many calls each settled, however many grants there are
    with django_assert_num_queries(6):
        page = client.get(reverse("approvals:grants")).content.decode()

    assert page.count('<tr id="grant-') == 2
    assert f'id="grant-{grant.pk}"' in page
    assert "actor olivia" in page
    assert reverse("approvals:revoke_grant", args=[grant.pk]) in page


def test_revoke_is_one_post_and_the_grant_leaves_the_list(client, paused, reviewer):
    grant = grants.resolve_with_grant(approval=paused, reviewer=reviewer, resolution="approved", scope="run")
    client.force_login(reviewer)

    response = client.post(reverse("approvals:revoke_grant", args=[grant.pk]))

    assert (response.status_code, response.url) == (302, reverse("approvals:grants"))
    grant.refresh_from_db()
    assert grant.revoked_by == reviewer
    page = client.get(reverse("approvals:grants")).content.decode()
    assert f"Revoked grant #{grant.pk}" in page
    assert f'id="grant-{grant.pk}"' not in page


def test_revoke_refuses_get_non_reviewers_and_a_missing_csrf_token(client, paused, reviewer, operator):
    grant = grants.resolve_with_grant(approval=paused, reviewer=reviewer, resolution="approved", scope="run")
    url = reverse("approvals:revoke_grant", args=[grant.pk])
    client.force_login(reviewer)
    assert client.get(url).status_code == 405
    client.force_login(operator)
    assert client.post(url).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(reviewer)
    assert strict.post(url).status_code == 403

    grant.refresh_from_db()
    assert grant.revoked_at is None


def test_the_admin_revokes_selected_grants(admin_client, paused, reviewer):
    grant = grants.resolve_with_grant(approval=paused, reviewer=reviewer, resolution="approved", scope="run")

    response = admin_client.post(reverse("admin:approvals_grant_changelist"),
                                 {"action": "revoke", "_selected_action": [grant.pk]}, follow=True)

    assert "Revoked 1 grant(s)" in response.content.decode()
    grant.refresh_from_db()
    assert grant.revoked_by.username == "admin"
