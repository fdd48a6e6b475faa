"""Webhook endpoints in the admin: the secret is typed once and never shown back, in the admin or the audit
history; the delivery log shows every attempt."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User

from audit.models import AuditRecord
from notifications import dispatch
from notifications.models import WebhookDelivery, WebhookEndpoint

from .conftest import SECRET

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/notifications/webhookendpoint/add/"


@pytest.fixture
def admin_client(client, db):
    client.force_login(User.objects.create_superuser("root", password="pw-root"))
    return client


def _form(**changes) -> dict:
    data = {"name": "ops", "url": "https://hooks.example.com/T000/B000/xyz", "secret": SECRET,
            "events": ["approval.requested", "approval.resolved"], "active": "on"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _configuration_records() -> list[dict]:
    return [json.loads(r.details) for r in AuditRecord.objects.filter(kind="configuration").order_by("id")
            if json.loads(r.details)["model"] == "notifications.WebhookEndpoint"]


def test_secret_is_kept_but_never_shown_or_audited_in_clear(admin_client):
    assert admin_client.post(ADD_URL, _form()).status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.secret, endpoint.events) == (SECRET, ["approval.requested", "approval.resolved"])
    [created] = _configuration_records()
    assert (created["after"]["secret"], created["after"]["url"], created["by"]) == (
        "[secret]", "https://hooks.example.com/T000/B000/xyz", "root")
    assert SECRET not in json.dumps(created)
    listing = admin_client.get("/admin/notifications/webhookendpoint/").content.decode()
    change = admin_client.get(f"/admin/notifications/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert "hooks.example.com" in listing
    assert "/T000/B000/xyz" not in listing  # only the host: a Slack webhook's path is a credential
    assert SECRET not in listing
    assert SECRET not in change


def test_saving_without_a_secret_keeps_it_and_a_new_one_is_audited_as_secret(admin_client):
    admin_client.post(ADD_URL, _form())
    endpoint = WebhookEndpoint.objects.get()
    change_url = f"/admin/notifications/webhookendpoint/{endpoint.pk}/change/"
    assert admin_client.post(change_url, _form(secret="", name="ops-2")).status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.name, endpoint.secret) == ("ops-2", SECRET)
    assert admin_client.post(change_url, _form(secret="rotated-secret-0123456789", name="ops-2")).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.secret == "rotated-secret-0123456789"
    changes = [(r["before"], r["after"]) for r in _configuration_records()[1:]]
    assert changes == [({"name": "ops"}, {"name": "ops-2"}), ({"secret": "[secret]"}, {"secret": "[secret]"})]


def test_short_or_missing_secret_is_refused(admin_client):
    response = admin_client.post(ADD_URL, _form(secret="short"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["secret"] == ["Give a secret of at least 16 characters."]
    assert WebhookEndpoint.objects.count() == 0


def test_delivery_log_shows_each_attempt(admin_client, receiver, make_endpoint, operator,
                                         django_capture_on_commit_callbacks):
    from tests.factories import pending_approval

    make_endpoint(receiver.url)
    receiver.statuses = [500]
    approval = pending_approval(operator)
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.notify(kind="approval.requested", approval_id=approval.pk)
    delivery = WebhookDelivery.objects.get()
    listing = admin_client.get("/admin/notifications/webhookdelivery/").content.decode()
    assert "approval.requested" in listing
    page = admin_client.get(f"/admin/notifications/webhookdelivery/{delivery.pk}/change/")
    assert page.status_code == 200
    attempts = [(a.number, a.status_code, a.error) for a in page.context["inline_admin_formsets"][0].formset.queryset]
    assert attempts == [(1, 500, "HTTP 500"), (2, 200, "")]
    html = page.content.decode()
    assert "HTTP 500" in html
    assert "Next retry at" in html
