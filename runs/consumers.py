"""Websocket consumers feeding the HTMX `ws` extension with server-rendered fragments.

Messages from the channel layer are nudges only: each handler checks the socket's session and
permission again, re-reads the database and sends what is new as out-of-band swaps rendered by
the same templates as the first page load. A socket whose session ended (logout, expiry) closes
with 4401 and sends nothing more (runs/socket_session.py); one whose user may no longer see the
run closes with 4403. A page says which `seq` it already shows (`{"type": "hello", "after": N}` on
every (re)connect); the consumer then sends every later event once, in order, with no gap, with
the run's status section read after those events.

An approval request's page listens on its run's socket too (`?approval=<id>`): its hello also says the
request's status it shows (`"approval": "pending"`), and it is sent its own update
(live_fragments.approval_update) whenever the run has new events or the request's status differs from
what the page shows: another reviewer's decision, a cancel, the call's outcome after the resume.

A hello is answered at once. Nudges are paced per socket (runs/live_pacing.py): at most one update
per `UPDATE_SECONDS`, holding everything new since the last, so a burst of events costs one read
and one frame. What several sockets would render alike is rendered once (runs/live_fragments.py):
each event's timeline entry once per process, a dashboard update once per viewer, sections and
filters; each socket still checks its own session and permission before it sends.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db.models import Max
from django.http import QueryDict
from django.template.loader import render_to_string

from approvals import batch as approvals_batch
from approvals.forms import QueueFilterForm
from approvals.models import ApprovalRequest, ApprovalStatus

from .commands import offered
from .forms import RunFilterForm
from .listing import run_listing
from .live import DASHBOARD_GROUP, run_group
from .live_fragments import SharedRenders, approval_update, run_update
from .live_pacing import Paced
from .models import Run, RunEvent
from .socket_session import CLOSE_SESSION_ENDED, SessionBoundConsumer

logger = logging.getLogger(__name__)
MAX_CLIENT_MESSAGE_BYTES = 4096


def _error_frame(message: str) -> str:
    return render_to_string("runs/_ws_error.html", {"message": message})


class _ClientMessages:
    """Parsing of what a browser may send: small JSON objects with a known `type`."""

    @staticmethod
    def parse(text: str | None) -> tuple[dict[str, Any] | None, str | None]:
        # The limit is in bytes, as it says: 4096 characters of "é" are twice that.
        if (text is None or len(text) > MAX_CLIENT_MESSAGE_BYTES
                or len(text.encode("utf-8", "surrogatepass")) > MAX_CLIENT_MESSAGE_BYTES):
            return None, "messages must be JSON text of at most 4096 bytes"
        try:
            message = json.loads(text)
        except (ValueError, RecursionError):  # "[[[[...": a few KB nest deeper than the parser recurses
            return None, "messages must be JSON"
        if not isinstance(message, dict) or message.get("type") != "hello":
            return None, "unknown message: send {\"type\": \"hello\", \"after\": <last seq shown>}"
        after = message.get("after", 0)
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            return None, "\"after\" must be a whole number, the last event seq the page shows"
        if "approval" in message and message["approval"] not in ApprovalStatus.values:
            statuses = ", ".join(ApprovalStatus.values)
            return None, f"\"approval\" must be the request's status the page shows: one of {statuses}"
        return message, None

    @staticmethod
    def approval_id(scope: dict[str, Any]) -> tuple[int | None, str | None]:
        """The approval request a run socket serves (`?approval=<id>`, an approval page), or None (the run page)."""
        value = QueryDict(scope.get("query_string", b"").decode()).get("approval")
        if value is None:
            return None, None
        if not value.isdigit() or not 0 < int(value) < 2**31:
            return None, "approval must be the number of an approval request of this run"
        return int(value), None


class RunConsumer(SessionBoundConsumer, AsyncWebsocketConsumer):
    """One run's live page: timeline events, status, streaming text; or an approval request's page of the run."""

    UPDATE_SECONDS = 0.05

    async def connect(self) -> None:
        self.user = self.scope["user"]
        self.run_id = self.scope["url_route"]["kwargs"]["run_id"]
        self.approval_id, error = _ClientMessages.approval_id(self.scope)
        if error and self.user.is_authenticated:
            await self.start_session_watch()  # frames go out only with it (runs/socket_session.py)
            await self.accept()
            await self.send(text_data=_error_frame(error))
            await self.close(code=4400)
            return
        # The request's status the approval page shows (its hello says); None until then.
        self.approval_shown: str | None = None
        if not self.user.is_authenticated or not await self._may_see():
            await self.close(code=4403)
            return
        self.last_seq: int | None = None
        # What the page has been sent whole, so a piece of streamed text that arrives after it
        # (nudges are not ordered with the database reads) is dropped instead of shown twice.
        self.texts_shown: set[str] = set()
        self.run_ended = False
        # One update at a time (a hello and a paced update must not both send the same events).
        self.sending = asyncio.Lock()
        self.updates = Paced(self._send_update, self.UPDATE_SECONDS)
        self.group = run_group(self.run_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.start_session_watch()
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            self.updates.stop()
            await self.channel_layer.group_discard(self.group, self.channel_name)
        await self.stop_session_watch()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        message, error = _ClientMessages.parse(text_data)
        if error:
            await self.send(text_data=_error_frame(error))
            return
        async with self.sending:
            self.last_seq = message["after"]
            self.approval_shown = message.get("approval")
            await self._send_new()

    async def run_changed(self, event: dict[str, Any]) -> None:
        if self.last_seq is None:
            return  # the page has not said what it shows yet; its hello will catch it up
        self.updates.nudge()

    async def _send_update(self) -> None:
        async with self.sending:
            await self._send_new()

    async def run_delta(self, event: dict[str, Any]) -> None:
        item_id = event.get("item_id") or ""
        if self.last_seq is None or self.run_ended or item_id in self.texts_shown or self.approval_id is not None:
            return
        await self.send(text_data=render_to_string("runs/_delta.html", {"text": event.get("text", ""),
                                                                         "item_id": item_id}))

    async def _send_new(self) -> None:
        refused, html, last = await self._render_after(self.last_seq or 0)
        if refused == CLOSE_SESSION_ENDED:
            await self.end_for_session()
        elif refused:
            await self.close(code=refused)
        elif html:
            self.last_seq = last
            await self.send(text_data=html)

    @database_sync_to_async
    def _may_see(self) -> bool:
        if self.approval_id is not None:
            return (ApprovalRequest.objects.visible_to(self.user)
                    .filter(pk=self.approval_id, run_id=self.run_id).exists())
        return Run.objects.visible_to(self.user).filter(pk=self.run_id).exists()

    @database_sync_to_async
    def _render_after(self, after: int) -> tuple[int | None, str, int]:
        """(close code if the socket must close, the update to send, the last seq in it), in one read."""
        if not self.session_holds():
            return CLOSE_SESSION_ENDED, "", after
        if not Run.objects.visible_to(self.user).filter(pk=self.run_id).exists():
            return 4403, "", after
        if self.approval_id is not None:
            return self._render_approval_after(after)
        # Events first, the run after: a run read first could predate events committed in between
        # (its end commits status and last event together), and the page, holding every event,
        # would show the old status for good. Read this way the status is never the older of the two.
        events = list(RunEvent.objects.filter(run_id=self.run_id, seq__gt=after).order_by("seq"))
        if not events:
            return None, "", after
        run = Run.objects.select_related("started_by", "cancelled_by").defer("state").get(pk=self.run_id)
        html = run_update(run, events, offered(self.user, run))
        self.texts_shown.update(e.payload.get("item_id") for e in events
                                if e.type == "llm_text_done" and e.payload.get("item_id"))
        self.run_ended = run.is_final
        return None, html, events[-1].seq

    def _render_approval_after(self, after: int) -> tuple[int | None, str, int]:
        """An approval page's update, if the run has events after `after` or the request's status is not
        the one the page shows. The events first, the request after, as for the run page."""
        last = RunEvent.objects.filter(run_id=self.run_id, seq__gt=after).aggregate(last=Max("seq"))["last"]
        approval = ApprovalRequest.objects.select_related("run", "resolved_by").get(pk=self.approval_id)
        if last is None and approval.status == self.approval_shown:
            return None, "", after
        self.approval_shown = approval.status
        return None, approval_update(approval), last or after


class DashboardConsumer(SessionBoundConsumer, AsyncWebsocketConsumer):
    """Every page's nav count, plus the runs list and approvals queue when the page shows them."""

    UPDATE_SECONDS = 0.25
    shared = SharedRenders()  # per process: one render serves the viewer's sockets alike

    async def connect(self) -> None:
        self.user = self.scope["user"]
        if not self.user.is_authenticated:
            await self.close(code=4403)
            return
        self.sending = asyncio.Lock()
        self.updates = Paced(self._send_update, self.UPDATE_SECONDS)
        self.nudged_at = time.monotonic()
        # Which sections the page shows besides the nav count ("runs", "approvals"); others are not sent.
        # The runs list comes with the page's filters (`outcome=...`), so that it stays as filtered.
        query = QueryDict(self.scope.get("query_string", b"").decode())
        self.show = {s for s in query.get("show", "").split(",") if s in ("runs", "approvals")}
        self.run_filters = RunFilterForm(query)
        self.queue_filters = QueueFilterForm(query)  # the queue's (tool, run, requester): no name shared
        await self.channel_layer.group_add(DASHBOARD_GROUP, self.channel_name)
        await self.start_session_watch()
        await self.accept()
        if "runs" in self.show and not self.run_filters.is_valid():
            # The page shows these errors in place of the list; an unfiltered list would mislead.
            errors = "; ".join(f"{field}: {' '.join(e)}" for field, e in self.run_filters.errors.items())
            await self.send(text_data=_error_frame(f"The runs list is not updated: {errors}"))
            self.show.discard("runs")
        if "approvals" in self.show and not self.queue_filters.is_valid():
            errors = "; ".join(f"{field}: {' '.join(e)}" for field, e in self.queue_filters.errors.items())
            await self.send(text_data=_error_frame(f"The queue is not updated: {errors}"))
            self.show.discard("approvals")
        # Shared only between sockets that would render alike: one user, with the same permissions as
        # their socket holds them (read once, at connect, as the render reads them), sections and filters.
        self.key = (self.user.pk, self.user.is_superuser, await self._permissions(), tuple(sorted(self.show)),
                    self.run_filters.query_string(), self.queue_filters.query_string())
        # Every (re)connect starts with the current state: a page whose socket dropped (a restarted
        # server, a lost network) would otherwise miss the changes made while it was away.
        await self._send_now()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "updates"):
            self.updates.stop()
        await self.channel_layer.group_discard(DASHBOARD_GROUP, self.channel_name)
        await self.stop_session_watch()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        _message, error = _ClientMessages.parse(text_data)
        if error:
            await self.send(text_data=_error_frame(error))
            return
        await self._send_now()

    async def dashboard_changed(self, event: dict[str, Any]) -> None:
        self.nudged_at = time.monotonic()  # the update answering it must be read after this
        self.updates.nudge()

    async def _send_now(self) -> None:
        self.nudged_at = time.monotonic()
        await self._send_update()

    async def _send_update(self) -> None:
        async with self.sending:
            if not await database_sync_to_async(self.session_holds)():
                await self.end_for_session()
                return
            await self.send(text_data=await self.shared.get(self.key, self.nudged_at, self._render))

    @database_sync_to_async
    def _permissions(self) -> frozenset[str]:
        return frozenset(self.user.get_all_permissions())

    @database_sync_to_async
    def _render(self) -> str:
        """The update for this viewer, sections and filters (shared: it reads nothing of the socket's)."""
        return render_to_string("runs/_dashboard_update.html", {
            "show": self.show,
            **(run_listing(self.run_filters, self.user) if "runs" in self.show else {}),
            **(approvals_batch.listing(self.queue_filters.filter(ApprovalRequest.objects.queue_for(self.user)))
               if "approvals" in self.show else {"approvals": []}),
            "pending_count": ApprovalRequest.objects.queue_for(self.user).count(),
        })
