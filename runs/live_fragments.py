"""Live updates rendered once and shared by the sockets that send the same thing.

- A run's event renders the same for everyone who may see its run (its `<li>`, runs/_event.html,
  reads the event alone) and never changes once written, so each is rendered once per process and
  kept (the last `EVENTS_KEPT`, least recently used out first): two pages of one run, or one page's
  update and another's catch-up, send the same text. The run's status section is rendered once per
  state of the run and set of buttons `offered()` gives the viewer (`status_section`): the key holds
  every column of the run but its JSON (the runner's state, which the section does not show), its
  users' names and the offer, so what a viewer sees depends only on what they were offered.
- A dashboard update depends on its viewer (what they may see, their queue) and the page's sections
  and filters: `SharedRenders` lets the sockets of one viewer with the same sections and filters share
  a render, but only one that started after the nudge the socket answers, so it shows that change.
- An approval page's update (`approval_update`) depends on the request and its run only (its buttons go
  once the request is decided, whoever looks), and is rendered per socket: it is sent when something
  changed for that page alone.
Nothing kept here is sent to a socket before that socket's own session and permission checks.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any

from django.db import models
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from approvals.context import live_state
from approvals.models import ApprovalRequest

from .models import Run, RunEvent

EVENTS_KEPT = 5000
STATUSES_KEPT = 1000


class _Kept:
    """The last `size` renders by key, least recently used out first (renders run in Channels' one
    sync thread, but nothing here relies on that)."""

    def __init__(self, size: int) -> None:
        self.size, self._renders, self._lock = size, OrderedDict(), threading.Lock()

    def get(self, key: Hashable, render: Callable[[], str]) -> str:
        with self._lock:
            html = self._renders.get(key)
            if html is not None:
                self._renders.move_to_end(key)
                return html
        html = render()
        with self._lock:
            self._renders[key] = html
            while len(self._renders) > self.size:
                self._renders.popitem(last=False)
        return html


_events, _statuses = _Kept(EVENTS_KEPT), _Kept(STATUSES_KEPT)
_SHOWN_COLUMNS = [f.attname for f in Run._meta.concrete_fields if not isinstance(f, models.JSONField)]


def event_item(event: RunEvent) -> str:
    """The event's timeline entry, rendered once per process."""
    return _events.get((str(event.run_id), event.seq), lambda: render_to_string("runs/_event.html", {"event": event}))


def status_section(run: Run, offer: dict[str, Any]) -> str:
    """The run's status section with the buttons of `offer` (`offered()`), rendered once per both."""
    users = tuple(user.get_username() if user else None for user in (run.started_by, run.cancelled_by))
    key = (tuple(getattr(run, column) for column in _SHOWN_COLUMNS), users,
           tuple((name, getattr(value, "pk", value)) for name, value in sorted(offer.items())))
    return _statuses.get(key, lambda: render_to_string("runs/detail.html#run-status", {"run": run, **offer}))


def run_update(run: Run, events: Iterable[RunEvent], offer: dict[str, Any]) -> str:
    """A run page's update: `events` appended to its timeline, and its status section as `offer`s it.
    Read `run` with `cancelled_by` (the section names who cancelled); its `state` is not needed."""
    items = mark_safe("".join(event_item(event) for event in events))  # each item escaped by its template
    return render_to_string("runs/_live_update.html", {"items": items, "status": status_section(run, offer)})


def approval_update(approval: ApprovalRequest) -> str:
    """An approval page's update: the request's state and its call's outcome, the run's other calls, and
    once it is decided, its actions without buttons. Read `approval` with `run` and `resolved_by`."""
    return render_to_string("approvals/_live_update.html",
                            {"approval": approval, "state": live_state(approval), "can_resolve": False})


class SharedRenders:
    """Renders of one process shared by key: `get(key, since, render)` returns a render of `key` that
    started at `since` (time.monotonic()) or later, starting one if there is none."""

    KEPT = 1000

    def __init__(self) -> None:
        self._renders: OrderedDict[Hashable, tuple[float, asyncio.Future]] = OrderedDict()

    async def get(self, key: Hashable, since: float, render: Callable[[], Awaitable[str]]) -> str:
        found = self._renders.get(key)
        if found is None or found[0] < since or found[1].get_loop() is not asyncio.get_running_loop():
            found = (time.monotonic(), asyncio.ensure_future(render()))
            self._renders[key] = found
            self._renders.move_to_end(key)
            while len(self._renders) > self.KEPT:
                self._renders.popitem(last=False)
        try:
            return await asyncio.shield(found[1])
        except Exception:
            if self._renders.get(key) is found:
                del self._renders[key]  # the next socket tries again
            raise
