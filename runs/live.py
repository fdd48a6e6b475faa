"""Live nudges to connected browsers, through the Channels layer, only after commit.

The database is the truth; a websocket message only says "look again". Consumers receive a
`LiveEvent`, re-read what changed from the database and render it, so a lost or repeated nudge
costs nothing and a browser never sees an event the database then rolled back. Consumers coalesce
nudges (at most one render per page per short interval, with everything new since the last one:
runs/consumers.py), so a burst of events costs a page one read.

Groups: `run-<uuid hex>` for one run's page, `dashboard` for lists, the queue and nav counts,
`session-<digest>` for the sockets one login session opened (closed at its logout), and
`approvals-resolved` for the API's long-polls of approval requests (agents/approval_wait.py).
A run's event nudges the dashboard only when it changes something the dashboard shows (the caller
says so: runs/event_log.py); every other event nudges its run's page alone.
Streaming model text is the exception: it is not stored, so `DeltaBatcher` sends it at once, batched.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any, Literal, TypedDict

from channels.layers import get_channel_layer
from django.db import transaction

from .layer_sender import group_send

logger = logging.getLogger(__name__)

DASHBOARD_GROUP = "dashboard"
APPROVALS_RESOLVED_GROUP = "approvals-resolved"


class LiveEvent(TypedDict, total=False):
    type: Literal["run.changed", "run.delta", "dashboard.changed", "session.ended", "approval.resolved"]
    run_id: str
    approval_id: int
    seq: int
    text: str
    item_id: str  # run.delta: the output item (the model's text) the streamed text belongs to


def run_group(run_id: object) -> str:
    return f"run-{str(run_id).replace('-', '')}"


def session_group(session_key: str) -> str:
    # A digest, not the key: the session key is a credential and group names are visible in Redis.
    return f"session-{hashlib.sha256(session_key.encode()).hexdigest()[:40]}"


def _send(group: str, event: LiveEvent) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        group_send(layer, group, dict(event))
    except Exception:
        # A nudge is an optimisation: pages catch up from the database on their next message.
        logger.warning("could not publish %s to %s", event.get("type"), group, exc_info=True)


def publish_run_changed(run_id: object, seq: int | None = None, *, dashboard: bool = True) -> None:
    """After the current transaction commits: tell the run's page to look again, and the dashboard
    too unless `dashboard` is False (the change shows nowhere but on the run's page)."""
    event: LiveEvent = {"type": "run.changed", "run_id": str(run_id)}
    if seq is not None:
        event["seq"] = seq

    def send() -> None:
        _send(run_group(run_id), event)
        if dashboard:
            _send(DASHBOARD_GROUP, {"type": "dashboard.changed", "run_id": str(run_id)})

    transaction.on_commit(send)


def publish_dashboard_changed() -> None:
    transaction.on_commit(lambda: _send(DASHBOARD_GROUP, {"type": "dashboard.changed"}))


def publish_approval_resolved(approval_id: int) -> None:
    """After the current transaction commits: wake whoever long-polls this approval request."""
    event: LiveEvent = {"type": "approval.resolved", "approval_id": approval_id}
    transaction.on_commit(lambda: _send(APPROVALS_RESOLVED_GROUP, event))


def publish_text_delta(run_id: object, text: str, item_id: str = "") -> None:
    """Streaming model text: not stored (the finished text is), so it is sent at once. `item_id` names
    the text it belongs to, so a page that already shows that text whole can drop a late piece."""
    _send(run_group(run_id), {"type": "run.delta", "run_id": str(run_id), "text": text, "item_id": item_id})


def publish_session_ended(session_key: str) -> None:
    """Close every websocket opened with this session, at once (sent at logout, before the flush)."""
    _send(session_group(session_key), {"type": "session.ended"})


def on_user_logged_out(sender: Any, request: Any = None, **kwargs: Any) -> None:
    """`user_logged_out` receiver (connected in RunsConfig.ready)."""
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        publish_session_ended(session_key)


class DeltaBatcher:
    """Streaming text sent to the run page at most every DELTA_SECONDS, not once per token: a
    publish per token cost about 1.7 ms each, a seventh of a run's time in the load benchmark.
    Each publish is the text of one output item, named, so a page can tell a late piece of a text
    it already shows whole (its `llm_text_done` event carries the same item id)."""

    DELTA_SECONDS = 0.05

    def __init__(self, run_id) -> None:
        self.run_id, self.parts, self.item_id, self.sent_at = run_id, [], "", time.monotonic()

    def add(self, text: str, item_id: str = "") -> None:
        if item_id != self.item_id:
            self.flush()
            self.item_id = item_id
        self.parts.append(text)
        if time.monotonic() - self.sent_at >= self.DELTA_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            publish_text_delta(self.run_id, "".join(self.parts), self.item_id)
            self.parts = []
        self.sent_at = time.monotonic()
