"""Celery tasks of notifications: one webhook delivery attempt (retried with backoff), one event's emails."""

from __future__ import annotations

from celery import shared_task

from . import emails, webhooks


@shared_task(bind=True, name="notifications.deliver_webhook", max_retries=None)
def deliver_webhook(self, *, delivery_id: str, number: int = 1) -> None:
    delay = webhooks.attempt(delivery_id=delivery_id, number=number)
    if delay is not None:
        # Celery's own retry: the same task, `delay` seconds later, as the next attempt.
        raise self.retry(countdown=delay, kwargs={"delivery_id": delivery_id, "number": number + 1})


@shared_task(name="notifications.send_approval_email")
def send_approval_email(*, kind: str, approval_id: int) -> int:
    return emails.send_approval_email(kind=kind, approval_id=approval_id)
