"""Webhook deliveries: making them for an event, POSTing one attempt, and the retry schedule.

A delivery is retried after any answer other than 2xx (redirects are not followed) or none at all
(refused, timed out), with exponential backoff: GOVERNANCE_WEBHOOK_RETRY_FIRST_SECONDS after the
first attempt, doubling up to GOVERNANCE_WEBHOOK_RETRY_MAX_WAIT_SECONDS between attempts, until the
waits add up to GOVERNANCE_WEBHOOK_RETRY_WINDOW_SECONDS (24 hours; the last wait is cut to fit).
`notifications.tasks.deliver_webhook` waits with Celery's retry countdown and calls `attempt` again.

Each attempt claims its number with a conditional UPDATE, so a task message delivered twice (Redis
hands an unacknowledged message to another worker) POSTs once. A worker killed in the middle of a
POST leaves the delivery pending with no attempt due (the log shows the attempt count without a row).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import events, signing
from .models import DeliveryAttempt, DeliveryStatus, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
USER_AGENT = "governance-dashboard-webhooks/1"


def retry_schedule() -> list[int]:
    """The waits, in seconds, before the 2nd, 3rd... attempt; they add up to the retry window."""
    first = settings.GOVERNANCE_WEBHOOK_RETRY_FIRST_SECONDS
    cap = settings.GOVERNANCE_WEBHOOK_RETRY_MAX_WAIT_SECONDS
    window = settings.GOVERNANCE_WEBHOOK_RETRY_WINDOW_SECONDS
    waits: list[int] = []
    while sum(waits) < window:
        waits.append(min(first * 2 ** len(waits), cap, window - sum(waits)))
    return waits


def retry_delay(attempts_made: int) -> int | None:
    """Seconds to wait after attempt number `attempts_made` failed; None when retries have ended."""
    schedule = retry_schedule()
    return schedule[attempts_made - 1] if attempts_made <= len(schedule) else None


def create_deliveries(kind: str, approval: Any) -> list[WebhookDelivery]:
    """One delivery (its body fixed now) for each active endpoint subscribed to `kind`."""
    made = []
    for endpoint in WebhookEndpoint.objects.filter(active=True):
        if kind not in endpoint.events:
            continue
        delivery = WebhookDelivery(endpoint=endpoint, event=kind, approval_id=approval.pk)
        delivery.body = _body(endpoint, delivery, kind, approval)
        delivery.save()
        made.append(delivery)
    return made


def _body(endpoint: WebhookEndpoint, delivery: WebhookDelivery, kind: str, approval: Any) -> str:
    if endpoint.slack_format:
        return json.dumps({"text": _slack_text(kind, approval)})
    return json.dumps({"id": str(delivery.pk), **events.describe(kind, approval)}, sort_keys=True)


def _slack_text(kind: str, approval: Any) -> str:
    def escaped(text: str) -> str:  # Slack's mrkdwn reads &, < and > as markup
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    return f"{escaped(events.headline(kind, approval))}. <{events.approval_url(approval.pk)}|Open the request>"


def attempt(*, delivery_id: str, number: int) -> int | None:
    """POST attempt `number` of a delivery; returns the seconds to wait before the next one, or None.

    Side effects: the delivery's attempt count, status and next attempt time; one DeliveryAttempt row.
    Does nothing (None) if the delivery is gone, finished, or this attempt was already made.
    """
    # The claim: a second copy of this attempt's task message changes no row.
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING,
                                             attempts=number - 1).update(attempts=number, next_attempt_at=None)
    if claimed != 1:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint, started = delivery.endpoint, time.monotonic()
    attempted_at = timezone.now()
    if endpoint.active:
        status_code, error = _post(endpoint, delivery)
    else:
        status_code, error = None, "not sent: the endpoint is inactive"
    delivered = status_code is not None and 200 <= status_code < 300
    delay = None if delivered or not endpoint.active else retry_delay(number)
    next_at = timezone.now() + timedelta(seconds=delay) if delay is not None else None
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery, number=number, attempted_at=attempted_at, status_code=status_code, error=error,
            duration_ms=int((time.monotonic() - started) * 1000), next_retry_at=next_at,
        )
        finished = None if next_at else timezone.now()
        status = DeliveryStatus.DELIVERED if delivered else DeliveryStatus.PENDING if next_at else DeliveryStatus.FAILED
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=status, next_attempt_at=next_at,
                                                              finished_at=finished)
    if not delivered:
        logger.warning("webhook %s to %s, attempt %d: %s", delivery.event, endpoint.name, number,
                       error or f"HTTP {status_code}")
    return delay


def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> tuple[int | None, str]:
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json", "User-Agent": USER_AGENT,
        "X-Governance-Event": delivery.event, "X-Governance-Delivery": str(delivery.pk),
        **signing.signed_headers(endpoint.secret, int(time.time()), body),
    }
    try:
        response = httpx.post(endpoint.url, content=body, headers=headers, timeout=TIMEOUT_SECONDS,
                              follow_redirects=False)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    return response.status_code, "" if response.is_success else f"HTTP {response.status_code}"
