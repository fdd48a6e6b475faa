"""Deadlines of approval requests: the window each gets, the half-time reminder, escalation and expiry.

Every request is raised with an expiry: its tool's approval window (`ToolRegistration.
approval_window_seconds`), else GOVERNANCE_APPROVAL_TTL_SECONDS. Beat calls `process_due` every 30 s
(approvals/tasks.py):
- at half of the window the request's reviewers are reminded, once (`reminded_at`,
  `approval_reminder_due`);
- at its end, if its tool names an escalation group and it has not escalated yet, it escalates once:
  it gets a new window of the same length, the group's members may see and decide it
  (governance/permissions.py) and are told (`approval_escalated`);
- otherwise it becomes `expired` (a denial, `approval_resolved`) and can never be approved.

Each step is claimed by a conditional UPDATE that changes a row only if it is still in the state the
step expects, so two beat runs at once (or a beat run and a reviewer) send each thing once.
Each step writes its audit record in the same transaction. `notifications` sends the emails and webhooks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.recorders import record_approval_deadline, record_approval_resolution
from governance.models import ToolRegistration

from .models import ApprovalRequest, ApprovalStatus, ResolutionCause
from .signals import approval_escalated, approval_reminder_due, approval_resolved


@dataclass(frozen=True)
class Deadline:
    """What a tool's configuration says about its requests' deadlines."""

    window: timedelta
    escalation_group_id: int | None = None
    escalation_group_name: str = ""


@dataclass
class Processed:
    """How many requests one `process_due` reminded, escalated and expired."""

    reminded: int = 0
    escalated: int = 0
    expired: int = 0


def deadline_for(tool: str) -> Deadline:
    """The window and escalation group of `tool`'s requests (the default window for a tool not registered,
    such as a remote agent's)."""
    registration = ToolRegistration.objects.select_related("escalation_group").filter(name=tool).first()
    return _deadline(registration)


def _deadline(registration: ToolRegistration | None) -> Deadline:
    seconds = (registration and registration.approval_window_seconds) or settings.GOVERNANCE_APPROVAL_TTL_SECONDS
    group = registration.escalation_group if registration else None
    return Deadline(window=timedelta(seconds=seconds), escalation_group_id=group.pk if group else None,
                    escalation_group_name=group.name if group else "")


def initial_fields(tool: str, now: datetime | None = None) -> dict[str, datetime]:
    """The deadline columns of a new request for `tool`: its expiry and its half-time."""
    now = now or timezone.now()
    window = deadline_for(tool).window
    return {"expires_at": now + window, "remind_at": now + window / 2}


def process_due(now: datetime | None = None) -> Processed:
    """Escalate or expire every pending request past its expiry, then remind those past half-time.

    Overdue requests go first, so one that beat reached late is escalated or expired rather than reminded.
    Side effects: see the module docstring; returns the counts.
    """
    now = now or timezone.now()
    done = Processed()
    overdue = list(ApprovalRequest.objects.overdue(now).select_related("run"))
    deadlines = _deadlines_of({approval.tool for approval in overdue})
    for approval in overdue:
        outcome = settle(approval, now=now, deadline=deadlines.get(approval.tool))
        if outcome == "escalated":
            done.escalated += 1
        elif outcome == "expired":
            done.expired += 1
    for approval in ApprovalRequest.objects.reminder_due(now).select_related("run"):
        done.reminded += remind(approval, now=now)
    return done


def settle_if_overdue(approval: ApprovalRequest, now: datetime | None = None) -> str | None:
    """For a reviewer's decision: if the request is past its expiry, escalate or expire it first.

    Returns "escalated" or "expired" when this call did so, else None (the row is updated in memory)."""
    now = now or timezone.now()
    if not approval.is_pending or approval.expires_at is None or approval.expires_at > now:
        return None
    return settle(approval, now=now)


def settle(approval: ApprovalRequest, *, now: datetime, deadline: Deadline | None = None) -> str | None:
    """Escalate (its first deadline, when its tool has an escalation group) or expire one overdue request.

    Returns "escalated", "expired", or None when another process got there first."""
    deadline = deadline or deadline_for(approval.tool)
    if deadline.escalation_group_id and approval.escalated_at is None:
        return "escalated" if _escalate(approval, now=now, deadline=deadline) else None
    return "expired" if _expire(approval, now=now, deadline=deadline) else None


def remind(approval: ApprovalRequest, *, now: datetime) -> int:
    """Send the half-time reminder of one request, once; returns 1 if this call sent it."""
    with transaction.atomic():
        changed = ApprovalRequest.objects.filter(
            pk=approval.pk, status=ApprovalStatus.PENDING, reminded_at=None,
        ).update(reminded_at=now)
        if changed != 1:
            return 0
        approval.reminded_at = now
        record_approval_deadline(approval, what="reminder")
        approval_reminder_due.send(sender=ApprovalRequest, approval=approval)
    return 1


def _escalate(approval: ApprovalRequest, *, now: datetime, deadline: Deadline) -> bool:
    fields = {"escalated_at": now, "escalated_to_id": deadline.escalation_group_id,
              "expires_at": now + deadline.window, "remind_at": now + deadline.window / 2}
    with transaction.atomic():
        changed = ApprovalRequest.objects.filter(
            pk=approval.pk, status=ApprovalStatus.PENDING, escalated_at=None, expires_at__lte=now,
        ).update(**fields)
        if changed != 1:
            return False
        _set(approval, fields)
        record_approval_deadline(approval, what="escalated", group=deadline.escalation_group_name)
        approval_escalated.send(sender=ApprovalRequest, approval=approval)
    return True


def _expire(approval: ApprovalRequest, *, now: datetime, deadline: Deadline) -> bool:
    seconds = int(deadline.window.total_seconds())
    comment = f"expired: nobody approved within {seconds} seconds"
    if approval.escalated_at is not None:
        comment += " of its escalation"
    fields = {"status": ApprovalStatus.EXPIRED, "cause": ResolutionCause.EXPIRY, "resolved_at": now,
              "comment": comment}
    with transaction.atomic():
        # expires_at__lte: a request another process has just escalated (a new expiry) is not expired here.
        changed = ApprovalRequest.objects.filter(
            pk=approval.pk, status=ApprovalStatus.PENDING, expires_at__lte=now,
        ).update(**fields)
        if changed != 1:
            return False
        _set(approval, fields)
        record_approval_resolution(approval)
        approval_resolved.send(sender=ApprovalRequest, approval=approval)
    return True


def _deadlines_of(tools: set[str]) -> dict[str, Deadline]:
    registrations = ToolRegistration.objects.select_related("escalation_group").filter(name__in=tools)
    found = {registration.name: _deadline(registration) for registration in registrations}
    return {tool: found.get(tool) or _deadline(None) for tool in tools}


def _set(approval: ApprovalRequest, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(approval, name, value)
