"""The one way to send a notification about an approval request: `notify(kind=..., approval_id=...)`.

It waits for the current transaction to commit (`transaction.on_commit`), so nothing is announced
that then rolls back; then it makes the webhook deliveries and queues their tasks and the email
task, by name (`notifications.tasks` sits above this module). Nothing it does can fail the caller:
each step's error is logged and the others go on; the receivers themselves are only reached from
the tasks, in a worker, after the approval flow has moved on.

The receivers of approvals' signals call it (notifications/receivers.py); so can any app above
this one, e.g. the Deadlines feature for `approval.reminder` and `approval.escalated`.
"""

from __future__ import annotations

import logging
from functools import partial

from celery import current_app
from django.db import transaction

from approvals.models import ApprovalRequest

from . import webhooks
from .events import EventKind

logger = logging.getLogger(__name__)

DELIVER_WEBHOOK = "notifications.deliver_webhook"
SEND_EMAIL = "notifications.send_approval_email"


def notify(*, kind: EventKind | str, approval_id: int) -> None:
    """Announce `kind` about the request once the current transaction commits (at once outside one)."""
    kind = EventKind(kind)
    transaction.on_commit(partial(send_now, kind=kind.value, approval_id=approval_id), robust=True)


def send_now(*, kind: str, approval_id: int) -> None:
    """Make the deliveries and queue the tasks now; call it through `notify` (after the commit)."""
    approval = ApprovalRequest.objects.select_related("run").filter(pk=approval_id).first()
    if approval is None:
        return
    try:
        deliveries = webhooks.create_deliveries(kind, approval)
    except Exception:
        logger.exception("could not make the webhook deliveries of %s for request %s", kind, approval_id)
        deliveries = []
    for delivery in deliveries:
        _send(DELIVER_WEBHOOK, delivery_id=str(delivery.pk), number=1)
    _send(SEND_EMAIL, kind=kind, approval_id=approval_id)


def _send(task_name: str, **kwargs) -> None:
    try:
        current_app.signature(task_name, kwargs=kwargs).delay()
    except Exception:  # the broker is down: the approval flow goes on, the log says what was not sent
        logger.exception("could not queue %s %s", task_name, kwargs)
