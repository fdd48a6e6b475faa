"""A websocket's login, re-checked before every frame it sends.

Channels resolves `scope["user"]` once, at connect; a socket opened before a logout would otherwise
go on streaming for as long as it stays open. So before a consumer sends anything, the session the
socket was opened with must still be in the session store, unexpired, and still log in the same
active user with the same password (Django's own `get_user`, which checks the session hash). When
it does not, the socket closes with code 4401 and sends nothing more. Browsers do not reconnect on
that code; the page says the session ended.

How often: every frame that is a re-read of the database checks the store first (two primary-key
reads, session and user): a run's new events in the same database round trip, a dashboard update
(whose render other sockets may share) in one just before it. Streaming text
is sent many times a second and reads nothing, so it reuses a check younger than `RECHECK_SECONDS`.
A logout does not wait for that: it nudges the session's group (`runs.live.publish_session_ended`)
and its sockets close at once. Left open: a session removed another way (expiry, an admin, a
password change elsewhere) may see up to `RECHECK_SECONDS` of streamed text before its next check.
"""

from __future__ import annotations

import time
from importlib import import_module
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest

from .live import session_group

CLOSE_SESSION_ENDED = 4401
RECHECK_SECONDS = 1.0


def login_still_holds(session_key: str | None, user: Any) -> bool:
    """Whether the session `session_key` still logs in `user` (reads the session store and the user)."""
    if not session_key or not getattr(user, "is_authenticated", False):
        return False
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    current = auth.get_user(request)
    return current.is_authenticated and current.pk == user.pk


class SessionBoundConsumer:
    """Mixin for websocket consumers: frames go out only while the socket's login holds.

    Call `start_session_watch()` in `connect` (after reading `scope["user"]`); handlers that read the
    database call `session_holds()` in that same synchronous read (it refreshes the check). `send`
    does the rest, and a `session.ended` message from the channel layer closes the socket at once.
    """

    session_key: str | None = None
    session_checked_at = float("-inf")
    closed_for_session = False

    async def start_session_watch(self) -> None:
        session = self.scope.get("session")
        self.session_key = getattr(session, "session_key", None)
        self.session_checked_at = time.monotonic()  # AuthMiddleware just read it to find the user
        if self.session_key:
            self.session_group = session_group(self.session_key)
            await self.channel_layer.group_add(self.session_group, self.channel_name)

    async def stop_session_watch(self) -> None:
        if getattr(self, "session_group", None):
            await self.channel_layer.group_discard(self.session_group, self.channel_name)

    def session_holds(self) -> bool:
        """Check the store now (synchronous: call it from a database read)."""
        holds = login_still_holds(self.session_key, self.scope["user"])
        self.session_checked_at = time.monotonic()
        return holds

    async def end_for_session(self) -> None:
        if not self.closed_for_session:
            self.closed_for_session = True
            await self.close(code=CLOSE_SESSION_ENDED)

    async def session_ended(self, event: dict[str, Any]) -> None:
        """`session.ended` from the channel layer: the session logged out."""
        await self.end_for_session()

    async def send(self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False) -> None:
        if self.closed_for_session:
            return
        if time.monotonic() - self.session_checked_at >= RECHECK_SECONDS and not await database_sync_to_async(
            self.session_holds
        )():
            await self.end_for_session()
            return
        await super().send(text_data=text_data, bytes_data=bytes_data, close=close)  # type: ignore[misc]
