"""Where a run's `RunState` is stored: its items and events as append-only rows, the small rest in `Run.state`.

The runner only ever appends to a state's conversation items (`RunState.items`) and execution events
(`RunState.events`), and they are what grows with the conversation. So each is stored as one
`RunStateEntry` row per item or event, written once by the step that added it; `Run.state` keeps the
rest (ids, rounds, the calls waiting for a reviewer, the last response), with how many items and
events belong to the state, and `next_input` as where it starts in the items (it is the items added
since the last response) unless it is not such a tail, then as a list. `load` rebuilds the state that
resumes a run from the two; `StoredState.rest` and `StoredState.append_new` are what a save writes,
inside the caller's transaction and conditional on its claim (runs/worker.py).
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from governance.guard import RunState
from governance.jsonsafe import json_safe

from .models import Run, RunStateEntry

ITEM, EVENT = RunStateEntry.Kind.ITEM, RunStateEntry.Kind.EVENT
_IN_ROWS = ("items", "events", "next_input", "pending")  # not copied as they are into `Run.state`


class StoredState:
    """What of one run's state is already stored, so that a save writes only what was added since."""

    def __init__(self, run_id, *, items: int = 0, events: int = 0) -> None:
        self.run_id = run_id
        self.items = items
        self.events = events

    @classmethod
    def load(cls, run: Run) -> tuple[RunState | None, StoredState]:
        """The run's saved state (None before its first save) and what of it is stored."""
        if not run.state:
            return None, cls(run.pk)
        data = dict(run.state)
        counts = {ITEM: data.pop("item_count"), EVENT: data.pop("event_count")}
        rows: dict[str, list[Any]] = {ITEM: [], EVENT: []}
        entries = RunStateEntry.objects.filter(run_id=run.pk).order_by("kind", "position")
        for kind, position, value in entries.values_list("kind", "position", "value"):
            if position < counts[kind]:
                rows[kind].append(value)
        if [len(rows[ITEM]), len(rows[EVENT])] != [counts[ITEM], counts[EVENT]]:
            raise ValueError(f"run {run.pk}: its saved state lacks some of its items or events")
        data["items"], data["events"] = rows[ITEM], rows[EVENT]
        start = data.pop("next_input_from", None)
        if start is not None:
            data["next_input"] = rows[ITEM][start:]
        return RunState.from_dict(data), cls(run.pk, items=counts[ITEM], events=counts[EVENT])

    def rest(self, state: RunState) -> dict[str, Any]:
        """`Run.state` for `state`: everything but its items and events, as JSON (copies nothing else)."""
        data = {f.name: getattr(state, f.name) for f in fields(state) if f.name not in _IN_ROWS}
        data["pending"] = [asdict(p) for p in state.pending]
        items, tail = state.items, state.next_input
        start = len(items) - len(tail)
        if start >= 0 and items[start:] == tail:
            data["next_input_from"] = start
        else:
            data["next_input"] = tail
        data["item_count"], data["event_count"] = len(items), len(state.events)
        return json_safe(data)

    def append_new(self, state: RunState) -> None:
        """Insert the items and events added since the last save. Call inside the transaction that
        writes `rest(state)` under the run's claim: the two are the state only together."""
        entries = [RunStateEntry(run_id=self.run_id, kind=ITEM, position=position, value=json_safe(item))
                   for position, item in enumerate(state.items[self.items:], start=self.items)]
        entries += [RunStateEntry(run_id=self.run_id, kind=EVENT, position=position, value=json_safe(event))
                    for position, event in enumerate(state.events[self.events:], start=self.events)]
        if entries:
            RunStateEntry.objects.bulk_create(entries)
        self.items, self.events = len(state.items), len(state.events)


def saved_call_ids(run_id) -> set[str]:
    """The call ids of the function calls in the run's saved conversation."""
    values = RunStateEntry.objects.filter(run_id=run_id, kind=ITEM).values_list("value", flat=True)
    return {value.get("call_id") for value in values if value.get("type") == "function_call"}


def waiting_call_arguments(run_id, call_id: str) -> dict[str, Any] | None:
    """The real arguments of the call `call_id` the run's saved state waits on a reviewer for, or None
    (no such call waits, or the run has no state: a remote agent's session). One query."""
    state = Run.objects.filter(pk=run_id).values_list("state", flat=True).first() or {}
    waiting = next((p for p in state.get("pending") or [] if p.get("call_id") == call_id), None)
    return None if waiting is None else dict(waiting["arguments"])
