"""The worker: it claims a run and drives the guarded runner until the run ends or waits for a reviewer.

`execute_run` claims a queued run, `resume_run` a paused one some of whose calls were resolved; each
claims with a conditional UPDATE on the run's status (a redelivered or duplicated task finds nothing
to do) and hands what the claim holds to a `ClaimedRun`: the run, the claim id, the runner's state
and the guard. Its methods are the steps. Every write is conditional on the claim
(`Run.objects.held_by`), and the claim has a heartbeat (runs/heartbeat.py): once `runs.recovery`
has queued a run again because its heartbeat stopped, the old worker (if it was only frozen)
writes nothing more.

The transactions of one governed call: a call that runs is claimed, then its step is written; a
call that does not run (blocked, waiting for a reviewer, refused) is only its step.
- The claim, committed before the tool is invoked: its `ToolExecution` row, with a save of the
  state that asked for the call. That row is unique per (run, call id), so whatever redelivers a task
  or recovers a run, a call runs at most once (exactly once when it finishes).
- The step: the step's event (runs/event_log.py: with its audit record and the run's call count),
  the state after it, the outcome of the call's `ToolExecution` (succeeded with its output, or
  failed) and, for the call's first decision, what the policies were given (governance/decision_inputs.py),
  in one transaction; live pages are nudged after the commit. A worker whose claim was lost
  writes only the call's outcome, so whoever drives the run now reuses a finished call's output.
A save of the state writes only what changed since the last (runs/state_store.py: the new
conversation items and execution events as rows, the small rest in `Run.state`). Slow I/O (the
model, the tools) never runs inside a transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from approvals.grants import GrantSettlement, settle_by_grant, settlements_to_apply
from approvals.resolutions import Resolution, any_to_apply, resolutions_to_apply
from approvals.services import create_request
from governance import telemetry
from governance.assembly import build_guard, shown_call
from governance.guard import GuardedOpenAI, RunState
from governance.jsonsafe import json_safe

from .event_log import append_event
from .heartbeat import Heartbeat
from .live import DeltaBatcher
from .models import FINAL_STATUSES, Run, RunQuerySet, RunStatus, ToolExecution
from .queue import enqueue_resume
from .state_store import StoredState


class ToolAlreadyStarted(RuntimeError):
    """A call whose execution began before (e.g. in a worker that died) is not run a second time."""


class RunNotHeld(RuntimeError):
    """This worker no longer drives the run (cancelled, or taken over after it looked dead)."""


def execute_run(*, run_id) -> None:
    """Claim a queued run and drive it until it completes, fails or waits for approval.

    A run queued again after its worker died (see `runs.recovery`) goes on from its last saved
    state: the calls of an unfinished turn are settled first (a call whose tool had started is not
    run again), then any approvals reviewers resolved meanwhile are applied, then the model is asked.
    """
    claimed = ClaimedRun.claim_queued(run_id)
    if claimed is not None:
        with telemetry.span("governance.run", {"governance.run.id": str(run_id)}):
            claimed.drive()


def resume_run(*, run_id) -> None:
    """Apply every resolved approval of a paused run and drive it on, if nobody else is driving it."""
    claimed = ClaimedRun.claim_paused(run_id)
    if claimed is not None:
        with telemetry.span("governance.run", {"governance.run.id": str(run_id), "governance.run.resumed": True}):
            claimed.drive()


class ClaimedRun:
    """A run this worker holds under `claim_id`, with the runner's state; its steps are the methods."""

    def __init__(self, run: Run, claim_id: uuid.UUID) -> None:
        self.run = run
        self.claim_id = claim_id
        self.state: RunState | None
        self.state, self.stored = StoredState.load(run)
        self.guard: GuardedOpenAI | None = None
        self._claimed_with: list[Resolution | GrantSettlement] = []  # read under the claim of a resume: applied first
        # call id -> what its events say of its approval request: the request's id, and once resolved,
        # who or what resolved it (shown on the timeline)
        self._approvals: dict[str, dict[str, Any]] = {}
        # call id -> the outcome of a tool this worker ran, written with the call's step
        self._outcomes: dict[str, dict[str, Any]] = {}

    # -- claiming -------------------------------------------------------------------------------

    @classmethod
    def claim_queued(cls, run_id) -> ClaimedRun | None:
        """Queued -> running under a new claim, or None (another worker has it, it ended, or is gone)."""
        claim_id, now = uuid.uuid4(), timezone.now()
        with transaction.atomic():
            claimed = Run.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
                status=RunStatus.RUNNING, started_at=Coalesce("started_at", Value(now)), heartbeat_at=now,
                claim_id=claim_id, updated_at=now,
            )
            if claimed != 1:
                return None
            held = cls(Run.objects.get(pk=run_id), claim_id)
            detail = "a worker took the run over from its last step" if held.state else "a worker started the run"
            append_event(run_id, "status", {"status": RunStatus.RUNNING, "detail": detail})
        return held

    @classmethod
    def claim_paused(cls, run_id) -> ClaimedRun | None:
        """Awaiting approval -> running, if some call it waits for was resolved; otherwise None."""
        claim_id, now = uuid.uuid4(), timezone.now()
        with transaction.atomic():
            claimed = Run.objects.filter(pk=run_id, status=RunStatus.AWAITING_APPROVAL).update(
                status=RunStatus.RUNNING, heartbeat_at=now, claim_id=claim_id, updated_at=now
            )
            if claimed != 1:
                return None  # someone else is driving it (and re-checks for resolutions when done), or it ended
            # Read the state under the claim: read before it, it could be one a concurrent resume has
            # since driven past.
            held = cls(Run.objects.get(pk=run_id), claim_id)
            held._claimed_with = held._resolutions()
            if not held._claimed_with:
                transaction.set_rollback(True)  # nothing to apply: leave the run as it was
                return None
            tools = ", ".join(r.tool for r in held._claimed_with)
            append_event(run_id, "status", {"status": RunStatus.RUNNING, "detail": f"resumed after review of {tools}"})
        return held

    def _held(self, *, running: bool = False) -> RunQuerySet:
        return Run.objects.held_by(self.run.pk, self.claim_id, running=running)

    # -- driving --------------------------------------------------------------------------------

    def drive(self) -> None:
        """Drive the run, with a heartbeat, until it ends or waits for a reviewer.

        First the runner advances (a new run starts; a paused one settles nothing and stays paused; a
        run saved mid-turn settles that turn's remaining calls and goes on), then every resolved
        approval is applied, again while new ones arrive, then the run's status is written.
        """
        with Heartbeat(self.run.pk, self.claim_id):
            self.prepare()
            if not self.follow(self.guard.advance(self.state, stream=True, executor=self.execute_tool)):
                return
            resolutions = self._claimed_with or self._resolutions()
            while resolutions:
                for told in resolutions:
                    self._approvals[told.call_id] = _timeline_fields(told)
                    with telemetry.approval_span(tool=told.tool, approval_id=told.approval_id,
                                                 resolution=told.resolution, reviewer=told.reviewer):
                        events = self.guard.resolve(self.state, key=told.call_id, resolution=told.resolution,
                                                    comment=told.comment, stream=True, executor=self.execute_tool,
                                                    arguments=told.arguments, note=told.note)
                        if not self.follow(events):
                            return
                resolutions = self._resolutions()
            self.finish()

    def prepare(self) -> None:
        """The guard, with the run's tools as they are registered now; a new run's first state."""
        self.guard = build_guard(tool_names=self.run.tool_names(), run_id=self.run.pk)
        if self.state is None:
            self.state = self.guard.start(messages=[{"role": "user", "content": self.run.prompt}], model=self.run.model)

    def _resolutions(self) -> list[Resolution | GrantSettlement]:
        """What approvals says the runner must be told for the calls it waits for: the calls sticky grants
        settled, then those reviewers (or expiry) resolved."""
        if not self.state or not self.state.pending:
            return []
        return [*settlements_to_apply(run_id=self.run.pk, waiting=self.state.pending),
                *resolutions_to_apply(run_id=self.run.pk, waiting=self.state.pending)]

    def follow(self, events: Iterator[dict[str, Any]]) -> bool:
        """Persist each step the runner reports. Returns False once this worker no longer drives the
        run: it was cancelled, or queued again and claimed by another worker after looking dead."""
        deltas = DeltaBatcher(self.run.pk)
        for event in events:
            kind = event["type"]
            if kind == "llm_delta":
                deltas.add(event["delta"], event.get("item_id") or "")
                continue
            deltas.flush()
            if kind == "execution_event" and not self.record_step(event["event"]):
                events.close()  # type: ignore[attr-defined]
                return False
            if kind == "llm_text_done":
                with transaction.atomic():
                    if self._held().exists():
                        append_event(self.run.pk, "llm_text_done",
                                     {"text": event["text"], "item_id": event.get("item_id") or ""})
        deltas.flush()
        return True

    def record_step(self, event: dict[str, Any]) -> bool:
        """Write one step's event, the state after it and the outcome of its tool, in one transaction,
        if the claim still holds.

        Returns whether to go on. A cancelled run still gets the step that was under way (its tool
        may have run), then the worker stops; a run taken over by another worker gets nothing more
        than the outcome of the tool this worker ran.
        """
        payload = dict(event)
        # What is stored for display and audit; the real arguments stay in the run's state only.
        shown = shown_call(event["tool"], event["arguments"])
        payload["arguments"] = shown["arguments"]
        outcome = self._outcomes.pop(event["call_id"], None)
        now = timezone.now()
        with transaction.atomic():
            running = self._save_state(self._held(running=True), updated_at=now, heartbeat_at=now)
            held = running or self._save_state(self._held(), updated_at=now, heartbeat_at=now)
            if outcome is not None:
                ToolExecution.objects.filter(pk=outcome.pop("pk")).update(**outcome)
            if not held:
                return False
            # What the policies were given for the call's first decision (a replay decides it again),
            # with the arguments as shown; nothing for a later step of the same call.
            self.guard.backend.save_held(request_id=event.get("request_id"), run_id=self.run.pk,
                                         shown=shown)
            if event["status"] == "approval_required":
                # A sticky grant settles the call (applied once this turn's steps are written), else a reviewer.
                granted = settle_by_grant(run=self.run, tool=event["tool"], call_id=event["call_id"])
                if granted is not None:
                    self._approvals[event["call_id"]] = {"grant_id": granted[0].pk, "settled": granted[0].described}
                else:
                    request = create_request(run=self.run, event=event, shown_arguments=payload["arguments"])
                    self._approvals[event["call_id"]] = {"approval_id": request.pk}
            payload.update(self._approvals.get(event["call_id"], {}))
            append_event(self.run.pk, "execution_event", json_safe(payload))
        return running

    def execute_tool(self, spec, call_id: str, arguments: dict[str, Any]) -> Any:
        """Run a tool call at most once per (run, call id), and only while this worker holds the run.

        Right before the call, the runner's state is saved with the `ToolExecution` claim, in one
        transaction: if the worker dies inside the tool, the run goes on from the model's answer that
        asked for this call, with the same call id, so the call is recognised and not run again. The
        outcome is written with the call's step (`record_step`).
        """
        now = timezone.now()
        with transaction.atomic():
            if not self._save_state(self._held(running=True), updated_at=now, heartbeat_at=now):
                raise RunNotHeld(f"{spec.name} was not run: the run was cancelled or taken over by another worker")
            execution, created = ToolExecution.objects.get_or_create(
                run_id=self.run.pk, call_id=call_id, defaults={"tool": spec.name}
            )
        if not created:
            if execution.status == ToolExecution.Status.SUCCEEDED:
                return execution.output
            raise ToolAlreadyStarted(
                f"{spec.name} call {call_id} was started before and may have run; it is not run twice"
            )
        try:
            output = spec.invoke(arguments, call_id=call_id)
        except Exception as exc:
            self._outcomes[call_id] = {"pk": execution.pk, "status": ToolExecution.Status.FAILED,
                                       "output": {"error": str(exc)}, "finished_at": timezone.now()}
            raise
        self._outcomes[call_id] = {"pk": execution.pk, "status": ToolExecution.Status.SUCCEEDED,
                                   "output": json_safe(output), "finished_at": timezone.now()}
        return output

    def _save_state(self, claim: RunQuerySet, **columns: Any) -> bool:
        """Save the state with `columns` under `claim` (one of `_held`): its small rest on the run and,
        when the claim held, its new items and events as rows; the two are the state only together.
        Call inside a transaction. Returns whether the claim held."""
        if claim.update(state=self.stored.rest(self.state), **columns) != 1:
            return False
        self.stored.append_new(self.state)
        return True

    def finish(self) -> None:
        """Write the run's status after the runner stopped (unless it was cancelled or taken over)."""
        state = self.state
        status = RunStatus.for_runner(state.status)
        if status == RunStatus.AWAITING_APPROVAL:
            detail = "waiting for review of " + ", ".join(p.tool for p in state.pending)
        elif status == RunStatus.COMPLETED:
            detail = "the model gave its final answer"
        else:
            detail = state.error or "the run failed"
        final_text = (state.last_response or {}).get("output_text", "") if status == RunStatus.COMPLETED else ""
        now = timezone.now()
        with transaction.atomic():
            changed = self._save_state(  # with the final answer's items, which no step wrote
                self._held(running=True),
                status=status,
                final_text=final_text,
                error=state.error or "" if status == RunStatus.FAILED else "",
                finished_at=now if status in FINAL_STATUSES else None,
                updated_at=now,
                claim_id=None,
            )
            if changed:
                append_event(self.run.pk, "status", {"status": status, "detail": detail})
        # Resolutions that committed while this worker held the run would otherwise wait forever.
        if status == RunStatus.AWAITING_APPROVAL and changed and any_to_apply(
            run_id=self.run.pk, call_ids=[p.call_id for p in state.pending]
        ):
            enqueue_resume(self.run.pk)


def _timeline_fields(told: Resolution | GrantSettlement) -> dict[str, Any]:
    """What the events of a resolved call say of what resolved it: its request, or the grant that settled it."""
    if isinstance(told, GrantSettlement):
        return {"grant_id": told.grant_id, "resolved": told.outcome}
    return {"approval_id": told.approval_id, "resolved": told.outcome}
