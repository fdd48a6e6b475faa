"""Emails about approval requests, through Django's email backend (EMAIL_BACKEND: the console in the
embedded profile, SMTP in production).

New requests, reminders and escalations go to the reviewers who may decide the request
(`approvals.reviewer_groups.who_may_decide`: the reviewers `governance.permissions` allows, in the
tool's or domain's reviewer groups when those are set); a resolution or an expiry goes to whoever started the run.
One message per recipient (nobody sees the others' addresses); people without an email address are
skipped. The only link is the request's page (notifications/events.py).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.template.loader import render_to_string

from approvals import reviewer_groups
from approvals.models import ApprovalRequest

from . import events


def recipients(kind: str, approval: Any) -> list[Any]:
    """The people an event about this request is emailed to."""
    if kind in events.FOR_REVIEWERS:
        people = reviewer_groups.who_may_decide(approval)
    else:
        people = [approval.run.started_by] if approval.run.started_by_id else []
    return [person for person in people if person.email and person.is_active]


def send_approval_email(*, kind: str, approval_id: int) -> int:
    """Email the event to its recipients; returns how many messages were sent (0 if the request is gone)."""
    approval = (ApprovalRequest.objects.select_related("run", "run__started_by", "resolved_by")
                .filter(pk=approval_id).first())
    if approval is None:
        return 0
    shown = events.describe(kind, approval)["approval"]
    context = {
        "approval": approval, "shown": shown, "headline": events.headline(kind, approval), "url": shown["url"],
        "for_reviewers": kind in events.FOR_REVIEWERS, "arguments": json.dumps(shown["arguments"], sort_keys=True),
    }
    body = render_to_string("notifications/approval_email.txt", context)
    messages = [EmailMessage(subject=context["headline"], body=body, from_email=settings.DEFAULT_FROM_EMAIL,
                             to=[person.email]) for person in recipients(kind, approval)]
    if not messages:
        return 0
    return get_connection().send_messages(messages) or 0
