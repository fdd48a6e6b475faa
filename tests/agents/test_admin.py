"""Admins create agent keys in the Django admin: the secret is shown once, right after saving, and never again."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from agents.keys import authenticate
from agents.models import AgentKey
from tests.factories import make_agent_key

pytestmark = pytest.mark.django_db

KEY_FORM = {"name": "billing-agent", "actor": "AI_AGENT_001", "domains": "customer_transactions, billing",
            "role": "agent", "user": "", "expires_at_0": "", "expires_at_1": ""}


def add_key(client, **changes):
    return client.post(reverse("admin:agents_agentkey_add"), {**KEY_FORM, **changes})


def test_adding_a_key_shows_its_secret_once(admin_client, admin_user):
    response = add_key(admin_client)
    secret = re.search(r'id="agent-key-secret" type="text" readonly size="80" value="([^"]+)"',
                       response.content.decode()).group(1)
    key = AgentKey.objects.get()
    assert authenticate(secret) == key
    assert (key.domains, key.created_by, key.actor) == (["customer_transactions", "billing"], admin_user,
                                                        "AI_AGENT_001")
    for page in (reverse("admin:agents_agentkey_change", args=[key.pk]), reverse("admin:agents_agentkey_changelist"),
                 reverse("admin:agents_agentkey_history", args=[key.pk])):
        shown = admin_client.get(page)
        assert shown.status_code == 200
        assert secret not in shown.content.decode()
        assert secret[:len("gd_live_") + 8] in shown.content.decode()  # the visible prefix is
    assert [secret in str(value) for entry in LogEntry.objects.all()
            for value in (entry.object_repr, entry.change_message)] == [False, False]


def test_the_secret_page_is_not_cached(admin_client):
    response = add_key(admin_client)
    assert "no-store" in response["Cache-Control"]


def test_an_approver_key_without_a_user_is_refused_on_the_form(admin_client):
    response = add_key(admin_client, role="approver")
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "user": ["An approver key acts for a dashboard user: choose one."]}
    assert AgentKey.objects.count() == 0


def test_the_revoke_action_revokes_the_selected_keys(admin_client, admin_user):
    key, secret = make_agent_key()
    kept, kept_secret = make_agent_key("other")
    response = admin_client.post(reverse("admin:agents_agentkey_changelist"),
                                 {"action": "revoke_selected", "_selected_action": [key.pk]})
    assert response.status_code == 302
    key.refresh_from_db()
    assert (key.revoked_by, authenticate(secret).reason, authenticate(kept_secret)) == (
        admin_user, "API key revoked", kept)
    assert list(LogEntry.objects.values_list("object_id", "change_message")) == [(str(key.pk), "Revoked.")]
