"""A run's event log, and the one place that says what appending an event sets off.

`append_event` writes, inside the caller's transaction:
- the `RunEvent` row with the run's next `seq` (1, 2, ... without gaps);
- for a settled call (an `execution_event` executed, blocked, denied, expired or a tool error), one
  more in the run's column counting those (`Run.calls_*`, what the runs list shows and filters by);
- its audit record, for status changes and tool calls (`audit.recorders.record_run_event`);
- a nudge to the run's page, sent after the commit (`runs.live.publish_run_changed`), and to the
  dashboard only when the event changes what the dashboard shows (`changes_dashboard`: a status, a
  call not done, an approval request raised or resolved).
Every writer of a run's history (the commands, the worker, recovery) goes through it.
`append_denials` writes, through it, the timeline entries of requests denied because their run ended.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Max

from audit.recorders import record_run_event

from .live import publish_run_changed
from .models import CALL_COUNT_COLUMNS, Run, RunEvent


def append_event(run_id, type_: str, payload: dict[str, Any]) -> RunEvent:
    """Append one event with its audit record and live nudge (see the module docstring).

    Call inside a transaction. The unique (run, seq) constraint turns a race between two writers
    into an IntegrityError; the loser takes the next number.
    """
    for _attempt in range(5):
        last = RunEvent.objects.filter(run_id=run_id).aggregate(m=Max("seq"))["m"] or 0
        try:
            with transaction.atomic():
                event = RunEvent.objects.create(run_id=run_id, seq=last + 1, type=type_, payload=payload)
        except IntegrityError:
            continue
        counted = CALL_COUNT_COLUMNS.get(payload.get("status")) if type_ == "execution_event" else None
        if counted:
            Run.objects.filter(pk=run_id).update(**{counted: F(counted) + 1})
        owner = ""
        if type_ == "status":  # only run status records name the run's owner; spare every other event the query
            # A remote session's owner is the actor its agent acts as.
            started_by, actor = Run.objects.filter(pk=run_id).values_list("started_by__username", "actor").first()
            owner = actor or started_by or ""
        record_run_event(run_id, type_, payload, run_owner=owner)
        publish_run_changed(run_id, event.seq, dashboard=changes_dashboard(type_, payload))
        return event
    raise RuntimeError(f"could not append an event to run {run_id}: too many concurrent writers")


def changes_dashboard(type_: str, payload: dict[str, Any]) -> bool:
    """Whether an event changes what the dashboard pages show: the runs list (a run's status, its
    calls not done: blocked, denied, expired, failed), the approvals queue and the nav's pending count
    (a request raised or resolved). Calls done are counted on the run's page only, as are model text,
    memory, reports and decisions that raised no request."""
    if type_ == "status" or payload.get("approval_id"):
        return True
    status = payload.get("status")
    return type_ == "execution_event" and status in CALL_COUNT_COLUMNS and status != "executed"


def append_denials(run_id, denied) -> None:
    """One `execution_event` per request denied because its run ended (cancelled or failed), saying so
    in the request's own words ("denied because olivia cancelled the run"), as a reviewer's denial
    shows on the timeline. No worker will apply these: the run is over. Call inside that transaction."""
    for approval in denied:
        append_event(run_id, "execution_event", {
            "tool": approval.tool, "call_id": approval.call_id, "status": "denied", "reason": approval.outcome,
            "arguments": approval.arguments, "output": None, "decision": approval.decision,
            "approval_id": approval.pk,
        })
