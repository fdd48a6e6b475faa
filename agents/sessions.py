"""A remote agent's session and the run that shows it.

A session is the request's `context.session_id`, else its `trajectory_id`, else one per key and day
(`session_of`). Each (key, session) is shown by one remote run (`runs.remote`), opened at the
session's first recorded call and linked by a `RemoteSession` row; everything the agent sends in that
session is appended to that run's timeline. The run names as its starter whoever answers for the key
(an approver key's user, else the key's creator), for `governance.permissions`.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from runs import remote
from runs.models import Run

from .models import AgentKey, RemoteSession


def session_of(key: AgentKey, context: dict[str, Any] | None, *, now=None) -> str:
    """The session a request belongs to (see the module docstring)."""
    context = context or {}
    for name in ("session_id", "trajectory_id"):
        if isinstance(context.get(name), str) and context[name]:
            return context[name][:200]
    return daily_session(key, now=now)


def daily_session(key: AgentKey, *, now=None) -> str:
    return f"{key.prefix}:{(now or timezone.now()).date().isoformat()}"


def existing_run(key_id: int, session: str) -> Run | None:
    """The run of a session that has one; no side effects."""
    link = RemoteSession.objects.filter(key_id=key_id, session=session).select_related("run__cancelled_by").first()
    return link.run if link else None


def session_run(key: AgentKey, session: str) -> Run:
    """The run of the key's session, opened now if the session is new; its row locked (`runs.remote.locked`).

    Side effects for a new session: the run with its first event, and its RemoteSession link. Call
    inside a transaction. Two first calls of one session at once open one run: the second one's insert
    fails on the link's unique constraint, its savepoint is undone, and it takes the first one's run.
    """
    run = existing_run(key.pk, session)
    if run is None:
        try:
            with transaction.atomic():
                run = remote.open_session(agent=key.name, actor=key.actor, session=session,
                                          started_by_id=key.user_id or key.created_by_id)
                RemoteSession.objects.create(key=key, session=session, run=run)
        except IntegrityError:
            run = existing_run(key.pk, session)
            if run is None:
                raise
    return remote.locked(run.pk)
