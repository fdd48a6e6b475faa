"""What a notification says: the kinds of event, the request's link, its JSON description and its summary line.

Every kind is about one approval request. The link is the request's page in the dashboard, absolute
(GOVERNANCE_LINK_BASE_URL): a plain GET of the normal page, which asks for a login first and carries
no token, so following a link never approves or denies anything; that happens on the page.
The run's prompt is never sent (it may hold anything); the call's arguments are the ones reviewers
read on the page (redacted per tool), and every text is scrubbed of secrets as the audit history's are.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse

from governance.redaction import scrub_secrets


class EventKind(models.TextChoices):
    REQUESTED = "approval.requested", "New request"
    REMINDER = "approval.reminder", "Reminder (Deadlines, at half-time)"
    ESCALATED = "approval.escalated", "Escalation (Deadlines, at expiry)"
    RESOLVED = "approval.resolved", "Resolved (approved or denied)"
    EXPIRED = "approval.expired", "Expired"


# Who is waiting for what: the reviewers who may decide hear of new, reminded and escalated requests;
# whoever started the run hears how its request ended.
FOR_REVIEWERS = frozenset({EventKind.REQUESTED, EventKind.REMINDER, EventKind.ESCALATED})

_HEADLINES = {
    EventKind.REQUESTED: "Approval requested",
    EventKind.REMINDER: "Reminder: approval still pending",
    EventKind.ESCALATED: "Escalated: approval still pending",
    EventKind.RESOLVED: "Approval resolved",
    EventKind.EXPIRED: "Approval expired",
}


def approval_url(approval_id: int) -> str:
    """The request's page, absolute: what every email and webhook links to."""
    return settings.GOVERNANCE_LINK_BASE_URL + reverse("approvals:detail", args=[approval_id])


def describe(kind: str, approval: Any) -> dict[str, Any]:
    """The event as JSON, scrubbed of secrets: what a webhook's body carries (besides its delivery id), and
    the texts an email shows."""
    return scrub_secrets({
        "event": str(kind),
        "approval": {
            "id": approval.pk,
            "url": approval_url(approval.pk),
            "tool": approval.tool,
            "arguments": approval.arguments,
            "reason": approval.reason,
            "status": approval.status,
            "outcome": None if approval.is_pending else approval.outcome,
            "comment": approval.comment,
            "run_id": str(approval.run_id),
            "requested_at": _iso(approval.requested_at),
            "expires_at": _iso(approval.expires_at),
            "resolved_at": _iso(approval.resolved_at),
        },
    })


def headline(kind: str, approval: Any) -> str:
    """One line naming the event, the tool and the run: an email's subject, a chat message's first words."""
    what = _HEADLINES[EventKind(kind)]
    if kind == EventKind.RESOLVED:
        what = f"Request {approval.outcome}"
    return f"{what}: {approval.tool} on run {str(approval.run_id)[:8]}"


def _iso(value) -> str | None:
    return value.isoformat() if value else None
