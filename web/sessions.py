"""Sessions end after SESSION_COOKIE_AGE without activity, or SESSION_MAX_AGE_SECONDS after their
login, whichever comes first.

Both land in the stored expiry date (`SessionStore`), so an ended session is gone for every reader
of the store: pages, the admin and the websockets. A login stamps its time (`start`); a request of a
logged-in session moves its expiry forward (`touch`), at most once a minute: saving the session on
every request would put a database write (on SQLite, the write lock) in every page view, so the
idle timeout holds to within that minute.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import auth
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

LOGIN_AT_KEY = "_login_at"
SEEN_AT_KEY = "_seen_at"
TOUCH_EVERY_SECONDS = 60


class SessionStore(DatabaseSessionStore):
    def get_session_cookie_age(self) -> int:
        idle = super().get_session_cookie_age()
        login_at = self.get(LOGIN_AT_KEY)
        if login_at is None:
            return idle
        left = int(login_at + settings.SESSION_MAX_AGE_SECONDS - time.time())
        return max(0, min(idle, left))


def start(session: SessionBase) -> None:
    """Stamp a session at login: its absolute lifetime counts from now."""
    session[LOGIN_AT_KEY] = session[SEEN_AT_KEY] = time.time()


def touch(session: SessionBase) -> None:
    """Record activity on a logged-in session. Changing it makes the session middleware save it,
    which moves its stored expiry forward (never past the absolute limit)."""
    seen_at = session.get(SEEN_AT_KEY)
    if seen_at is None:
        if session.get(auth.SESSION_KEY) is not None:  # logged in before these limits: they start now
            start(session)
    elif time.time() - seen_at >= TOUCH_EVERY_SECONDS:
        session[SEEN_AT_KEY] = time.time()
