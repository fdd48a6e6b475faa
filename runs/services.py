"""The run lifecycle: start, execute, pause for approval, resume, cancel.

A run is driven by whichever worker claims it with a conditional UPDATE on its status, so a
redelivered or duplicated task finds nothing to do. Each claim has its own id and a heartbeat
(runs/heartbeat.py); every write of the driving worker is conditional on its claim, so once
`runs.recovery` has queued a run again because its heartbeat stopped, the old worker (if it was
only frozen) writes nothing more. After every step the runner's `RunState` and the step's
`RunEvent` are written in one transaction; live pages are nudged after the commit. A tool call
runs only after its `ToolExecution` row is created, in the same transaction as a save of the
state that asked for it; that row is unique per (run, call id), so whatever redelivers a task or
recovers a run, a call runs at most once (exactly once when it finishes). Slow I/O (the model,
the tools) never runs inside a transaction.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from approvals.models import ApprovalRequest
from approvals.resolutions import any_to_apply, resolutions_to_apply
from approvals.services import create_request, deny_pending_for_run
from audit.recorders import record_run_event
from governance import permissions
from governance.assembly import build_guard, redact_call_arguments
from governance.guard import RunState
from governance.jsonsafe import json_safe
from governance.models import ToolRegistration

from .heartbeat import Heartbeat
from .live import publish_run_changed, publish_text_delta
from .models import FINAL_STATUSES, Run, RunEvent, RunStatus, ToolExecution
from .queue import enqueue_execute, enqueue_resume

logger = logging.getLogger(__name__)

class RunInputError(ValueError):
    """Bad input for a new run; `field` names the form field to show it on."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class ToolAlreadyStarted(RuntimeError):
    """A call whose execution began before (e.g. in a worker that died) is not run a second time."""


class RunNotHeld(RuntimeError):
    """This worker no longer drives the run (cancelled, or taken over after it looked dead)."""


# --- starting and cancelling ------------------------------------------------------------------


def start_run(*, user, prompt: str, model: str, tool_names: list[str],
              first_event: dict[str, Any] | None = None) -> Run:
    """Create a queued run and enqueue its execution.

    Side effects: a Run row with its tools, a `status` RunEvent, the execute task after commit.
    `first_event` adds fields to that status event; its `detail` replaces "queued by <user>"
    (a retry says which run it retries). Raises RunInputError for an empty or oversized prompt, a
    bad model name, or unknown tools.
    """
    prompt = (prompt or "").strip()
    if not prompt:
        raise RunInputError("prompt", "Write a prompt for the agent.")
    limit = settings.GOVERNANCE_MAX_PROMPT_CHARS
    if len(prompt) > limit:
        raise RunInputError("prompt", f"The prompt is {len(prompt)} characters; the limit is {limit}.")
    model = (model or "").strip()
    if not model or len(model) > 100 or any(c.isspace() for c in model):
        raise RunInputError("model", "Give a model name such as gpt-4.1 (no spaces, at most 100 characters).")
    names = sorted(set(tool_names))
    tools = list(ToolRegistration.objects.filter(enabled=True, name__in=names))
    if not names:
        raise RunInputError("tools", "Choose at least one tool for the agent.")
    if len(tools) != len(names):
        missing = sorted(set(names) - {t.name for t in tools})
        raise RunInputError("tools", f"These tools are not registered or are disabled: {', '.join(missing)}.")
    with transaction.atomic():
        run = Run.objects.create(started_by=user, prompt=prompt, model=model)
        run.tools.set(tools)
        event = {"status": RunStatus.QUEUED, "detail": f"queued by {user.get_username()}", **(first_event or {})}
        append_event(run.pk, "status", {**event, "status": RunStatus.QUEUED})
        enqueue_execute(run.pk)
    return run


def can_cancel(user, run: Run) -> bool:
    return permissions.may_cancel_run(user, run)


def cancel_run(*, run: Run, user) -> bool:
    """Cancel a run that is not final yet. Returns False if it already ended or the user may not.

    Side effects: status CANCELLED, its pending approval requests denied with a comment, a
    `status` RunEvent. A worker driving the run stops at its next step.
    """
    if not can_cancel(user, run):
        return False
    with transaction.atomic():
        changed = (
            Run.objects.filter(pk=run.pk)
            .exclude(status__in=FINAL_STATUSES)
            .update(status=RunStatus.CANCELLED, finished_at=timezone.now())
        )
        if changed != 1:
            return False
        deny_pending_for_run(run.pk, comment=f"run cancelled by {user.get_username()}", by=user.get_username())
        append_event(run.pk, "status", {"status": RunStatus.CANCELLED, "detail": f"cancelled by {user.get_username()}"})
    return True


# --- executing ---------------------------------------------------------------------------------


def execute_run(*, run_id) -> None:
    """Claim a queued run and drive it until it completes, fails or waits for approval.

    A run queued again after its worker died (see `runs.recovery`) goes on from its last saved
    state: the calls of an unfinished turn are settled first (a call whose tool had started is not
    run again), then any approvals reviewers resolved meanwhile are applied, then the model is asked.
    """
    claim = uuid.uuid4()
    now = timezone.now()
    with transaction.atomic():
        claimed = Run.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, started_at=Coalesce("started_at", Value(now)), heartbeat_at=now,
            claim_id=claim, updated_at=now,
        )
        if claimed != 1:
            return  # another worker has it, or it was cancelled, or it does not exist
        run = Run.objects.get(pk=run_id)
        detail = "a worker took the run over from its last step" if run.state else "a worker started the run"
        append_event(run_id, "status", {"status": RunStatus.RUNNING, "detail": detail})
    _drive(run, claim)


def resume_run(*, run_id) -> None:
    """Apply every resolved approval of a paused run and drive it on, if nobody else is driving it."""
    claim = uuid.uuid4()
    now = timezone.now()
    with transaction.atomic():
        claimed = Run.objects.filter(pk=run_id, status=RunStatus.AWAITING_APPROVAL).update(
            status=RunStatus.RUNNING, heartbeat_at=now, claim_id=claim, updated_at=now
        )
        if claimed != 1:
            return  # someone else is driving it (and re-checks for resolutions when done), or it ended
        # Read the state under the claim: read before it, it could be one a concurrent resume has
        # since driven past.
        run = Run.objects.get(pk=run_id)
        waiting = RunState.from_dict(run.state).pending if run.state else []
        resolved = resolutions_to_apply(run_id=run_id, waiting=waiting)
        if not resolved:
            transaction.set_rollback(True)  # nothing to apply: leave the run as it was
            return
        tools = ", ".join(r.tool for r in resolved)
        append_event(run_id, "status", {"status": RunStatus.RUNNING, "detail": f"resumed after review of {tools}"})
    _drive(run, claim)


def _drive(run: Run, claim: uuid.UUID) -> None:
    """Drive a run this worker has claimed, with a heartbeat, until it ends or waits for a reviewer.

    First the runner advances (a new run starts; a paused one settles nothing and stays paused; a
    run saved mid-turn settles that turn's remaining calls and goes on), then every resolved
    approval is applied, again while new ones arrive, then the run's status is written.
    """
    with Heartbeat(run.pk, claim):
        guard = build_guard(tool_names=_tool_names(run))
        if run.state:
            state = RunState.from_dict(run.state)
        else:
            state = guard.start(messages=[{"role": "user", "content": run.prompt}], model=run.model)
        executor = _executor(run.pk, claim, state)
        if not _follow(run, claim, state, guard.advance(state, stream=True, executor=executor)):
            return
        while resolved := resolutions_to_apply(run_id=run.pk, waiting=state.pending):
            for told in resolved:
                events = guard.resolve(state, key=told.call_id, resolution=told.resolution, comment=told.comment,
                                       stream=True, executor=executor)
                if not _follow(run, claim, state, events):
                    return
        _finish(run, claim, state)


def _follow(run: Run, claim: uuid.UUID, state: RunState, events: Iterator[dict[str, Any]]) -> bool:
    """Persist each step the runner reports. Returns False once this worker no longer drives the
    run: it was cancelled, or queued again and claimed by another worker after looking dead."""
    deltas = _DeltaBatcher(run.pk)
    for event in events:
        kind = event["type"]
        if kind == "llm_delta":
            deltas.add(event["delta"])
            continue
        deltas.flush()
        if kind == "execution_event":
            if not _record_step(run, claim, state, event["event"]) or not _still_driving(run.pk, claim):
                events.close()  # type: ignore[attr-defined]
                return False
        elif kind == "llm_text_done":
            with transaction.atomic():
                if Run.objects.filter(pk=run.pk, claim_id=claim).exists():
                    append_event(run.pk, "llm_text_done", {"text": event["text"]})
    deltas.flush()
    return True


class _DeltaBatcher:
    """Streaming text sent to the run page at most every DELTA_SECONDS, not once per token: a
    publish per token cost about 1.7 ms each, a seventh of a run's time in the load benchmark."""

    DELTA_SECONDS = 0.05

    def __init__(self, run_id) -> None:
        self.run_id, self.parts, self.sent_at = run_id, [], time.monotonic()

    def add(self, text: str) -> None:
        self.parts.append(text)
        if time.monotonic() - self.sent_at >= self.DELTA_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            publish_text_delta(self.run_id, "".join(self.parts))
            self.parts = []
        self.sent_at = time.monotonic()


def _still_driving(run_id, claim: uuid.UUID) -> bool:
    return Run.objects.filter(pk=run_id, claim_id=claim, status=RunStatus.RUNNING).exists()


def _record_step(run: Run, claim: uuid.UUID, state: RunState, event: dict[str, Any]) -> bool:
    """Write one step's event and the state after it, in one transaction, if the claim still holds.

    A cancelled run still gets the step that was under way (its tool may have run); a run taken
    over by another worker gets nothing more from this one.
    """
    payload = dict(event)
    # What is stored for display and audit; the real arguments stay in the run's state only.
    payload["arguments"] = redact_call_arguments(event["tool"], event["arguments"])
    now = timezone.now()
    with transaction.atomic():
        held = Run.objects.filter(pk=run.pk, claim_id=claim).update(
            state=json_safe(state.to_dict()), updated_at=now, heartbeat_at=now
        )
        if held != 1:
            return False
        if event["status"] == "approval_required":
            payload["approval_id"] = create_request(run=run, event=event, shown_arguments=payload["arguments"]).pk
        else:
            approval_id = (
                ApprovalRequest.objects.filter(run=run, call_id=event["call_id"]).values_list("pk", flat=True).first()
            )
            if approval_id is not None:
                payload["approval_id"] = approval_id
        append_event(run.pk, "execution_event", json_safe(payload))
    return True


def _finish(run: Run, claim: uuid.UUID, state: RunState) -> None:
    """Write the run's status after the runner stopped (unless it was cancelled or taken over)."""
    if state.status == "approval_required":
        waiting = ", ".join(p.tool for p in state.pending)
        status, detail = RunStatus.AWAITING_APPROVAL, f"waiting for review of {waiting}"
    elif state.status == "completed":
        status, detail = RunStatus.COMPLETED, "the model gave its final answer"
    else:
        status, detail = RunStatus.FAILED, state.error or "the run failed"
    final_text = (state.last_response or {}).get("output_text", "") if status == RunStatus.COMPLETED else ""
    now = timezone.now()
    with transaction.atomic():
        changed = Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING, claim_id=claim).update(
            status=status,
            state=json_safe(state.to_dict()),
            final_text=final_text,
            error=state.error or "" if status == RunStatus.FAILED else "",
            finished_at=now if status in FINAL_STATUSES else None,
            updated_at=now,
            claim_id=None,
        )
        if changed == 1:
            append_event(run.pk, "status", {"status": status, "detail": detail})
    # Resolutions that committed while this worker held the run would otherwise wait forever.
    if status == RunStatus.AWAITING_APPROVAL and changed == 1 and any_to_apply(
        run_id=run.pk, call_ids=[p.call_id for p in state.pending]
    ):
        enqueue_resume(run.pk)


def _executor(run_id, claim: uuid.UUID, state: RunState):
    """Run a tool call at most once per (run, call id), and only while this worker holds the run.

    Right before the call, the runner's state is saved with the `ToolExecution` claim, in one
    transaction: if the worker dies inside the tool, the run goes on from the model's answer that
    asked for this call, with the same call id, so the call is recognised and not run again.
    """

    def execute(spec, call_id: str, arguments: dict[str, Any]) -> Any:
        now = timezone.now()
        with transaction.atomic():
            held = Run.objects.filter(pk=run_id, claim_id=claim, status=RunStatus.RUNNING).update(
                state=json_safe(state.to_dict()), updated_at=now, heartbeat_at=now
            )
            if held != 1:
                raise RunNotHeld(f"{spec.name} was not run: the run was cancelled or taken over by another worker")
            execution, created = ToolExecution.objects.get_or_create(
                run_id=run_id, call_id=call_id, defaults={"tool": spec.name}
            )
        if not created:
            if execution.status == ToolExecution.Status.SUCCEEDED:
                return execution.output
            raise ToolAlreadyStarted(
                f"{spec.name} call {call_id} was started before and may have run; it is not run twice"
            )
        try:
            output = spec.invoke(arguments)
        except Exception as exc:
            ToolExecution.objects.filter(pk=execution.pk).update(
                status=ToolExecution.Status.FAILED, output={"error": str(exc)}, finished_at=timezone.now()
            )
            raise
        ToolExecution.objects.filter(pk=execution.pk).update(
            status=ToolExecution.Status.SUCCEEDED, output=json_safe(output), finished_at=timezone.now()
        )
        return output

    return execute


# --- the event log ---------------------------------------------------------------------------


def append_event(run_id, type_: str, payload: dict[str, Any]) -> RunEvent:
    """Append one RunEvent with the run's next `seq` (1, 2, ...) and nudge live pages after commit.

    Call inside a transaction. The unique (run, seq) constraint turns a race between two writers
    into an IntegrityError; the loser takes the next number. Status changes and tool calls are
    also written to the audit history, in the same transaction.
    """
    for _attempt in range(5):
        last = RunEvent.objects.filter(run_id=run_id).aggregate(m=Max("seq"))["m"] or 0
        try:
            with transaction.atomic():
                event = RunEvent.objects.create(run_id=run_id, seq=last + 1, type=type_, payload=payload)
        except IntegrityError:
            continue
        owner = ""
        if type_ == "status":  # only run status records name the run's owner; spare every other event the query
            owner = Run.objects.filter(pk=run_id).values_list("started_by__username", flat=True).first() or ""
        record_run_event(run_id, type_, payload, run_owner=owner)
        publish_run_changed(run_id, event.seq)
        return event
    raise RuntimeError(f"could not append an event to run {run_id}: too many concurrent writers")


def events_after(run: Run, seq: int):
    return run.events.filter(seq__gt=seq).order_by("seq")


def _tool_names(run: Run) -> list[str]:
    return list(run.tools.values_list("name", flat=True))
