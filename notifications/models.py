"""Webhook endpoints (configured in the admin) and the log of what was POSTed to them.

An endpoint receives the events it subscribes to as signed JSON (notifications/signing.py). Each
event for an endpoint is one `WebhookDelivery`, whose body is fixed when it is made (every attempt
sends the same bytes and the same `id`); each POST of it is one `DeliveryAttempt` row: when, the
status code or the error, and when the next attempt is due. Delivery ids are values, not keys to
the request (`approval_id`), so the log outlives the rows it talks about.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from django.db import models

from .events import EventKind


class WebhookEndpoint(models.Model):
    name = models.CharField(max_length=100, unique=True)
    url = models.URLField(max_length=500, help_text="Where the events are POSTed (https:// in production).")
    secret = models.CharField(
        max_length=200,
        help_text="Shared with the receiver, which checks each body's signature with it (docs/notifications.md). "
        "Never shown again after saving, nor written to the audit history.",
    )
    events = models.JSONField(default=list, help_text="The kinds of event this endpoint receives.")
    active = models.BooleanField(default=True, help_text="Inactive endpoints receive nothing, retries included.")
    slack_format = models.BooleanField(
        default=False, verbose_name="Slack-compatible body",
        help_text='Send {"text": ...} as a Slack incoming webhook expects, instead of the JSON event.',
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def host(self) -> str:
        """The URL's host only: its path may itself be a credential (a Slack webhook's is)."""
        return urlsplit(self.url).netloc


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending (an attempt is due)"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (retries ended)"


class WebhookDelivery(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=32, choices=EventKind.choices)
    approval_id = models.BigIntegerField(db_index=True)
    body = models.TextField(help_text="Exactly what every attempt POSTs.")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING,
                              db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} for request {self.approval_id} to {self.endpoint_id} ({self.status})"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True,
                                                   help_text="The receiver's answer; empty when none came.")
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    next_retry_at = models.DateTimeField(null=True, blank=True, help_text="Empty: no further attempt.")

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="one_row_per_attempt")]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.status_code or self.error}"
