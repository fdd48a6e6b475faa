"""What `notifications` does when `approvals` announces something (approvals/signals.py): it calls
`dispatch.notify`, which sends after the announcing transaction commits. Connected by
`NotificationsConfig.ready()`."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from approvals.models import ApprovalStatus
from approvals.signals import approval_escalated, approval_reminder_due, approval_requested, approval_resolved

from .dispatch import notify
from .events import EventKind


@receiver(approval_requested, dispatch_uid="notifications.requested")
def on_requested(*, approval: Any, **_kwargs: Any) -> None:
    notify(kind=EventKind.REQUESTED, approval_id=approval.pk)


@receiver(approval_resolved, dispatch_uid="notifications.resolved")
def on_resolved(*, approval: Any, **_kwargs: Any) -> None:
    expired = approval.status == ApprovalStatus.EXPIRED
    notify(kind=EventKind.EXPIRED if expired else EventKind.RESOLVED, approval_id=approval.pk)


@receiver(approval_reminder_due, dispatch_uid="notifications.reminder")
def on_reminder_due(*, approval: Any, **_kwargs: Any) -> None:
    notify(kind=EventKind.REMINDER, approval_id=approval.pk)


@receiver(approval_escalated, dispatch_uid="notifications.escalated")
def on_escalated(*, approval: Any, **_kwargs: Any) -> None:
    notify(kind=EventKind.ESCALATED, approval_id=approval.pk)
