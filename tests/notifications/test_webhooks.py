"""Webhook deliveries against a real HTTP receiver on loopback: the documented snippet verifies the
signature and refuses old timestamps, failures are retried by Celery with exponential backoff for up to
24 hours (never sleeping: eager Celery runs each retry at once, the waits are read from the log), and
every attempt is in the delivery log."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from approvals.services import resolve_approval
from notifications import dispatch, tasks, webhooks
from notifications.models import DeliveryStatus, WebhookDelivery

from .conftest import SECRET

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_tools_registered")]


def _notify(capture, kind: str, approval_id: int) -> None:
    with capture(execute=True):
        dispatch.notify(kind=kind, approval_id=approval_id)


def _waits(delivery: WebhookDelivery) -> list[float | None]:
    return [(a.next_retry_at - a.attempted_at).total_seconds() if a.next_retry_at else None
            for a in delivery.log.all()]


def test_signature_verifies_with_documented_snippet(receiver, make_endpoint, paused, reviewer, links, doc_verify,
                                                    django_capture_on_commit_callbacks):
    make_endpoint(receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        resolve_approval(approval=paused, reviewer=reviewer, resolution="approved",
                         comment="fine, Bearer abcdefghijklmnop1234")
    [received] = receiver.requests
    assert doc_verify(SECRET, received.headers, received.body) is True
    assert doc_verify("another-secret-0123456789", received.headers, received.body) is False
    assert doc_verify(SECRET, received.headers, received.body.replace(b"approved", b"denied")) is False
    body = json.loads(received.body)
    delivery = WebhookDelivery.objects.get()
    assert (received.path, received.headers["X-Governance-Event"]) == ("/hooks/governance", "approval.resolved")
    assert body["id"] == received.headers["X-Governance-Delivery"] == str(delivery.pk)
    assert body["event"] == "approval.resolved"
    assert {k: body["approval"][k] for k in ("id", "url", "tool", "arguments", "status", "outcome", "comment")} == {
        "id": paused.pk, "url": f"{links}/approvals/{paused.pk}/", "tool": "refund_payment",
        "arguments": {"order_id": "ord_7", "amount": 250}, "status": "approved", "outcome": "approved by rita",
        "comment": "fine, [secret]"}  # texts are scrubbed of secrets as the audit history's are
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)
    assert [(a.number, a.status_code, a.error, a.next_retry_at) for a in delivery.log.all()] == [(1, 200, "", None)]


def test_documented_snippet_refuses_old_timestamps(receiver, make_endpoint, paused, doc_verify,
                                                   django_capture_on_commit_callbacks):
    make_endpoint(receiver.url)
    _notify(django_capture_on_commit_callbacks, "approval.requested", paused.pk)
    [received] = receiver.requests
    sent_at = int(received.headers["X-Governance-Timestamp"])
    assert doc_verify(SECRET, received.headers, received.body, now=sent_at + 299) is True
    assert doc_verify(SECRET, received.headers, received.body, now=sent_at + 301) is False  # a replay, later
    assert doc_verify(SECRET, received.headers, received.body, now=sent_at - 301) is False
    # Replaying with a fresh timestamp does not help: the signature covers it.
    replayed = {"X-Governance-Timestamp": str(sent_at + 1000),
                "X-Governance-Signature": received.headers["X-Governance-Signature"]}
    assert doc_verify(SECRET, replayed, received.body, now=sent_at + 1000) is False


def test_receiver_answering_500_is_retried_with_backoff(receiver, make_endpoint, paused, monkeypatch,
                                                        django_capture_on_commit_callbacks):
    make_endpoint(receiver.url)
    receiver.statuses = [500, 500]
    countdowns = []
    retry = tasks.deliver_webhook.retry
    monkeypatch.setattr(tasks.deliver_webhook, "retry",
                        lambda **options: countdowns.append(options["countdown"]) or retry(**options))
    _notify(django_capture_on_commit_callbacks, "approval.requested", paused.pk)
    delivery = WebhookDelivery.objects.get()
    assert countdowns == [60, 120]  # Celery's retry, with the first two waits of the schedule
    assert [(a.number, a.status_code, a.error) for a in delivery.log.all()] == [
        (1, 500, "HTTP 500"), (2, 500, "HTTP 500"), (3, 200, "")]
    assert [round(w) if w else w for w in _waits(delivery)] == [60, 120, None]
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (DeliveryStatus.DELIVERED, 3, None)
    assert len({r.body for r in receiver.requests}) == 1  # every attempt sends the same body and id
    assert {r.headers["X-Governance-Delivery"] for r in receiver.requests} == {str(delivery.pk)}


def test_retry_schedule_doubles_to_an_hour_and_ends_at_24_hours():
    schedule = webhooks.retry_schedule()
    assert schedule[:8] == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert (sum(schedule), len(schedule) + 1, max(schedule)) == (24 * 3600, 30, 3600)
    assert (webhooks.retry_delay(1), webhooks.retry_delay(29), webhooks.retry_delay(30)) == (60, 3420, None)


def test_receiver_that_keeps_failing_is_given_up_after_the_window(receiver, make_endpoint, paused, short_retries,
                                                                 django_capture_on_commit_callbacks):
    make_endpoint(receiver.url)
    receiver.statuses = [503] * 10
    _notify(django_capture_on_commit_callbacks, "approval.requested", paused.pk)
    delivery = WebhookDelivery.objects.get()
    assert [a.status_code for a in delivery.log.all()] == [503] * 5
    assert [round(w) if w else w for w in _waits(delivery)] == [1, 2, 4, 3, None]
    assert (delivery.status, delivery.next_attempt_at) == (DeliveryStatus.FAILED, None)
    assert len(receiver.requests) == 5


def test_a_task_message_delivered_twice_posts_once(receiver, make_endpoint, paused, monkeypatch,
                                                   django_capture_on_commit_callbacks):
    make_endpoint(receiver.url)
    monkeypatch.setattr(dispatch, "_send", lambda *args, **kwargs: None)  # make the delivery, queue nothing
    _notify(django_capture_on_commit_callbacks, "approval.requested", paused.pk)
    delivery = WebhookDelivery.objects.get()
    tasks.deliver_webhook.apply(kwargs={"delivery_id": str(delivery.pk), "number": 1})
    tasks.deliver_webhook.apply(kwargs={"delivery_id": str(delivery.pk), "number": 1})
    assert len(receiver.requests) == 1
    assert delivery.log.count() == 1


def test_slack_compatible_body_links_the_request(receiver, make_endpoint, paused, links,
                                                 django_capture_on_commit_callbacks):
    make_endpoint(receiver.url, slack_format=True)
    _notify(django_capture_on_commit_callbacks, "approval.requested", paused.pk)
    [received] = receiver.requests
    run = str(paused.run_id)[:8]
    assert json.loads(received.body) == {
        "text": f"Approval requested: refund_payment on run {run}. <{links}/approvals/{paused.pk}/|Open the request>"}


def test_only_active_endpoints_subscribed_to_the_event_receive_it(receiver, make_endpoint, paused,
                                                                   django_capture_on_commit_callbacks):
    make_endpoint(receiver.url, name="resolutions only", events=["approval.resolved"])
    make_endpoint(receiver.url, name="inactive", active=False)
    make_endpoint(receiver.url + "/new", name="new requests", events=["approval.requested"])
    _notify(django_capture_on_commit_callbacks, "approval.requested", paused.pk)
    assert [r.path for r in receiver.requests] == ["/hooks/governance/new"]


def test_deactivating_an_endpoint_stops_its_retries(receiver, make_endpoint, paused, monkeypatch,
                                                    django_capture_on_commit_callbacks):
    endpoint = make_endpoint(receiver.url)
    receiver.statuses = [500]
    monkeypatch.setattr(dispatch, "_send", lambda *args, **kwargs: None)
    _notify(django_capture_on_commit_callbacks, "approval.requested", paused.pk)
    delivery = WebhookDelivery.objects.get()
    assert webhooks.attempt(delivery_id=str(delivery.pk), number=1) == 60
    endpoint.active = False
    endpoint.save()
    assert webhooks.attempt(delivery_id=str(delivery.pk), number=2) is None
    delivery.refresh_from_db()
    assert (delivery.status, len(receiver.requests)) == (DeliveryStatus.FAILED, 1)
    assert [a.error for a in delivery.log.all()] == ["HTTP 500", "not sent: the endpoint is inactive"]
    assert delivery.log.first().next_retry_at - delivery.log.first().attempted_at >= timedelta(seconds=60)


def test_a_remote_agents_request_is_announced_too(receiver, make_endpoint, client, links,
                                                  django_capture_on_commit_callbacks):
    from approvals.models import ApprovalRequest
    from tests.factories import make_agent_key

    make_endpoint(receiver.url, events=["approval.requested"])
    _key, secret = make_agent_key()
    call = {"action": "refund_payment", "value": 250, "actor": "AI_AGENT_001", "domain": "customer_transactions"}
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post("/bighub/actions/evaluate", json.dumps(call), content_type="application/json",
                             HTTP_X_API_KEY=secret).json()
    approval = ApprovalRequest.objects.get()
    assert answer["result"] == "requires_approval"
    [received] = receiver.requests
    body = json.loads(received.body)
    assert (body["event"], body["approval"]["tool"], body["approval"]["url"]) == (
        "approval.requested", "refund_payment", f"{links}/approvals/{approval.pk}/")
