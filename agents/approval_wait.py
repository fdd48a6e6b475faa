"""The long-poll of `GET /approvals/{id}?wait=SECONDS`: answer as soon as a reviewer decides, holding no
thread and no database connection while waiting.

Under the ASGI server, `ApprovalLongPolls` wraps the Django application (config/asgi.py): it lets
Django answer the request at once (`wait=0`: the key, the rate limit, the 404 of a request the key
may not see, the refusals' audit records, the item as JSON), and when that answer is a pending
request it waits on the event loop, then answers the resolved item. Django's request, its thread and
its database connection are over before the wait starts, however many agents wait; a client that
hangs up stops its wait. Where nothing wraps it (Django's test client, a WSGI server), the endpoint
itself streams the answer (`answer_when_resolved`), which holds the request's thread while it waits.

The waits of one event loop (one server process) share one `_Waiters`: a future per waiting request,
and while any wait, one task that
- listens on the channel layer's `approvals-resolved` group, where `runs.receivers` publishes every
  resolution after its commit (Redis between processes): a message for a waited request makes it look
  at once;
- otherwise looks every GOVERNANCE_APPROVAL_WAIT_RECHECK_SECONDS (0.25 s), so a lost message, a Redis
  outage or a resolution that sends none (a cancelled run's denials) is seen within that time.
Each look is one query for all the requests waited for, in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import math
import re
import weakref
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections, connection
from django.http import StreamingHttpResponse

from approvals.models import ApprovalRequest
from runs.live import APPROVALS_RESOLVED_GROUP

from .approval_items import fields

logger = logging.getLogger(__name__)


LONG_POLL_PATH = re.compile(r"^/bighub/approvals/[^/]+$")  # GET /approvals/{id} of the API in config/urls.py


class ApprovalLongPolls:
    """ASGI middleware: the long-polls of approval requests, waited for on the event loop (module docstring)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        wait = _wait_asked(scope)
        if wait is None:
            await self.app(scope, receive, send)
            return
        start, body = await _answer_now(self.app, {**scope, "query_string": _with_wait(scope, 0)}, receive)
        item = _pending_item(start, body)
        if item is not None:
            waiting = asyncio.ensure_future(_waiters().wait(int(item["request_id"]), wait))
            hang_up = asyncio.ensure_future(_disconnected(receive))
            await asyncio.wait({waiting, hang_up}, return_when=asyncio.FIRST_COMPLETED)
            hang_up.cancel()
            if not waiting.done():  # the client went away: nobody to answer; its wait ends now
                waiting.cancel()
                await asyncio.wait({waiting})
                return
            if waiting.result() is not None:
                body = json.dumps({**item, **waiting.result()}).encode()
        headers = [(name, value) for name, value in start.get("headers", []) if name.lower() != b"content-length"]
        await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _wait_asked(scope) -> float | None:
    """The seconds a GET of one approval request asks to wait, cut to the maximum; None when it asks for
    none, or for something the endpoint must refuse itself (it then answers the request as sent)."""
    if scope["type"] != "http" or scope.get("method") != "GET" or not LONG_POLL_PATH.match(scope.get("path", "")):
        return None
    asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("wait", [])
    try:
        wait = float(asked[0]) if len(asked) == 1 else 0.0
    except ValueError:
        return None
    if not math.isfinite(wait) or wait <= 0:
        return None
    return min(wait, settings.GOVERNANCE_API_MAX_WAIT_SECONDS)


def _with_wait(scope, wait: float) -> bytes:
    query = [(name, value) for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                                                          keep_blank_values=True) if name != "wait"]
    return urlencode([*query, ("wait", str(wait))]).encode("latin-1")


async def _answer_now(app, scope, receive) -> tuple[dict[str, Any], bytes]:
    """Django's whole answer to the request: its start message and body."""
    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def keep(message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    return start, b"".join(chunks)


def _pending_item(start: dict[str, Any], body: bytes) -> dict[str, Any] | None:
    if start.get("status") != 200:
        return None
    try:
        item = json.loads(body)
    except ValueError:
        return None
    return item if isinstance(item, dict) and item.get("status") == "pending" else None


async def _disconnected(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def answer_when_resolved(item: dict[str, Any], *, wait: float) -> StreamingHttpResponse:
    """The endpoint's own answer to a long-poll of the pending request `item`, where `ApprovalLongPolls` does
    not wrap it: the request once resolved, or as it is after `wait` seconds. Headers go at once; the
    JSON body when it is known.

    The view's database connection is closed first (outside a transaction): the wait needs none.
    """
    if not connection.in_atomic_block:
        connection.close()
    approval_id = int(item["request_id"])

    async def body():
        resolved = await _waiters().wait(approval_id, wait)
        yield json.dumps({**item, **resolved} if resolved else item).encode()

    return StreamingHttpResponse(body(), content_type="application/json")


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Waiters] = weakref.WeakKeyDictionary()


def _waiters() -> _Waiters:
    loop = asyncio.get_running_loop()
    if loop not in _by_loop:
        _by_loop[loop] = _Waiters()
    return _by_loop[loop]


class _Waiters:
    """The waits of one event loop (see the module docstring)."""

    def __init__(self) -> None:
        self.futures: dict[int, set[asyncio.Future]] = {}
        self.look_now = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def wait(self, approval_id: int, timeout: float) -> dict[str, Any] | None:
        """The request's item fields once resolved, or None after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.futures.setdefault(approval_id, set()).add(future)
        if self.task is None:
            # A context of its own: the task outlives the request that started it.
            self.task = loop.create_task(self._watch(), context=contextvars.Context())
        self.look_now.set()  # it may have been resolved since the view read it
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return None
        finally:
            waiting = self.futures.get(approval_id)
            if waiting is not None:
                waiting.discard(future)
                if not waiting:
                    del self.futures[approval_id]
            if not self.futures:
                self.look_now.set()  # the watching task sees nobody waits, and stops

    async def _watch(self) -> None:
        listener = asyncio.get_running_loop().create_task(self._listen())
        try:
            while self.futures:
                try:
                    await asyncio.wait_for(self.look_now.wait(), settings.GOVERNANCE_APPROVAL_WAIT_RECHECK_SECONDS)
                except TimeoutError:
                    pass
                self.look_now.clear()
                if self.futures:
                    await self._look(list(self.futures))
        finally:
            self.task = None  # before anything else: a wait that starts now starts a new task
            listener.cancel()

    async def _look(self, approval_ids: list[int]) -> None:
        try:
            resolved = await sync_to_async(_resolved, thread_sensitive=False)(approval_ids)
        except Exception:
            logger.warning("could not read the approval requests waited for; looking again shortly", exc_info=True)
            return
        for approval_id, found in resolved.items():
            for future in self.futures.get(approval_id, ()):
                if not future.done():
                    future.set_result(found)

    async def _listen(self) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        channel = None
        try:
            channel = await layer.new_channel()
            await layer.group_add(APPROVALS_RESOLVED_GROUP, channel)
            while True:
                message = await layer.receive(channel)
                if message.get("approval_id") in self.futures:
                    self.look_now.set()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("not listening for resolutions (the database is still looked at every %s s)",
                           settings.GOVERNANCE_APPROVAL_WAIT_RECHECK_SECONDS, exc_info=True)
        finally:
            if channel is not None:
                try:
                    await layer.group_discard(APPROVALS_RESOLVED_GROUP, channel)
                except Exception:
                    logger.debug("could not leave %s", APPROVALS_RESOLVED_GROUP, exc_info=True)


def _resolved(approval_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The item fields of those requests that are resolved; one query, in a worker thread. Connections
    are handled as after a request (kept only within CONN_MAX_AGE)."""
    close_old_connections()
    try:
        approvals = ApprovalRequest.objects.resolved().filter(pk__in=approval_ids).select_related("resolved_by")
        return {approval.pk: fields(approval) for approval in approvals}
    finally:
        close_old_connections()
