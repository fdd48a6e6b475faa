"""The run lifecycle: start, execute, pause for approval, resume, cancel.

A run is driven by whichever worker claims it with a conditional UPDATE on its status, so a
redelivered or duplicated task finds nothing to do. After every step the runner's `RunState` and
the step's `RunEvent` are written in one transaction; live pages are nudged after the commit. A
tool call runs only after its `ToolExecution` row is created, and that row is unique per (run,
call id), so whatever redelivers a task, a call runs at most once (exactly once when it finishes).
Slow I/O (the model, the tools) never runs inside a transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from approvals.models import ApprovalRequest, ApprovalStatus
from approvals.services import arguments_digest, create_request
from audit.recorders import record_approval_resolution, record_run_event
from governance.guard import RunState
from governance.models import ToolRegistration
from governance.services import build_guard, redact_call_arguments

from .live import publish_run_changed, publish_text_delta
from .models import FINAL_STATUSES, Run, RunEvent, RunStatus, ToolExecution

logger = logging.getLogger(__name__)

_RESOLUTION_FOR_STATUS = {
    ApprovalStatus.APPROVED: "approved",
    ApprovalStatus.DENIED: "rejected",
    ApprovalStatus.EXPIRED: "expired",
}


class RunInputError(ValueError):
    """Bad input for a new run; `field` names the form field to show it on."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class ToolAlreadyStarted(RuntimeError):
    """A call whose execution began before (e.g. in a worker that died) is not run a second time."""


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
    from .tasks import enqueue_execute

    with transaction.atomic():
        run = Run.objects.create(started_by=user, prompt=prompt, model=model)
        run.tools.set(tools)
        event = {"status": RunStatus.QUEUED, "detail": f"queued by {user.get_username()}", **(first_event or {})}
        append_event(run.pk, "status", {**event, "status": RunStatus.QUEUED})
        enqueue_execute(run.pk)
    return run


def can_cancel(user, run: Run) -> bool:
    return user.is_staff or run.started_by_id == user.pk or user.has_perm("approvals.resolve_approvalrequest")


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
        pending = list(ApprovalRequest.objects.filter(run=run, status=ApprovalStatus.PENDING))
        ApprovalRequest.objects.filter(pk__in=[a.pk for a in pending]).update(
            status=ApprovalStatus.DENIED, resolved_at=timezone.now(), comment=f"run cancelled by {user.get_username()}"
        )
        for approval in pending:
            approval.refresh_from_db()
            record_approval_resolution(approval, reviewer=user.get_username())
        append_event(run.pk, "status", {"status": RunStatus.CANCELLED, "detail": f"cancelled by {user.get_username()}"})
    return True


# --- executing ---------------------------------------------------------------------------------


def execute_run(*, run_id) -> None:
    """Claim a queued run and drive it until it completes, fails or waits for approval."""
    run = Run.objects.filter(pk=run_id).first()
    if run is None:
        return
    with transaction.atomic():
        claimed = Run.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, started_at=timezone.now()
        )
        if claimed != 1:
            return  # another worker has it, or it was cancelled
        append_event(run_id, "status", {"status": RunStatus.RUNNING, "detail": "a worker started the run"})
    guard = build_guard(tool_names=_tool_names(run))
    state = RunState.from_dict(run.state) if run.state else guard.start(
        messages=[{"role": "user", "content": run.prompt}], model=run.model
    )
    _follow(run, state, guard.advance(state, stream=True, executor=_executor(run.pk)))
    _finish(run, state)


def resume_run(*, run_id) -> None:
    """Apply every resolved approval of a paused run, driving it on; repeats while new ones arrive."""
    while True:
        run = Run.objects.filter(pk=run_id).first()
        if run is None or not run.state:
            return
        state = RunState.from_dict(run.state)
        waiting = {p.call_id for p in state.pending}
        resolved = list(
            ApprovalRequest.objects.filter(run_id=run_id, call_id__in=waiting)
            .exclude(status=ApprovalStatus.PENDING)
            .order_by("resolved_at", "pk")
        )
        if not resolved:
            return
        with transaction.atomic():
            claimed = Run.objects.filter(pk=run_id, status=RunStatus.AWAITING_APPROVAL).update(
                status=RunStatus.RUNNING
            )
            if claimed != 1:
                return  # someone else is driving it, and re-checks for resolutions when done
            tools = ", ".join(a.tool for a in resolved)
            append_event(run_id, "status", {"status": RunStatus.RUNNING, "detail": f"resumed after review of {tools}"})
        guard = build_guard(tool_names=_tool_names(run))
        for approval in resolved:
            resolution, comment = _resolution_for(approval, state)
            events = guard.resolve(
                state, key=approval.call_id, resolution=resolution, comment=comment, stream=True,
                executor=_executor(run_id),
            )
            if not _follow(run, state, events):
                return
        _finish(run, state)


def _resolution_for(approval: ApprovalRequest, state: RunState) -> tuple[str, str]:
    resolution = _RESOLUTION_FOR_STATUS[approval.status]
    comment = approval.comment
    if resolution == "approved":
        pending = state.find_pending(approval.call_id)
        if arguments_digest(pending.tool, pending.arguments) != approval.arguments_digest:
            return "rejected", "the call differs from what the reviewer approved, so it was not run"
        who = approval.reviewer.get_username() if approval.reviewer else "a reviewer"
        comment = f"approved by {who}" + (f": {comment}" if comment else "")
    return resolution, comment


def _follow(run: Run, state: RunState, events: Iterator[dict[str, Any]]) -> bool:
    """Persist each step the runner reports. Returns False if the run was cancelled meanwhile."""
    for event in events:
        kind = event["type"]
        if kind == "llm_delta":
            publish_text_delta(run.pk, event["delta"])
        elif kind == "execution_event":
            _record_step(run, state, event["event"])
            if Run.objects.filter(pk=run.pk, status=RunStatus.CANCELLED).exists():
                events.close()  # type: ignore[attr-defined]
                return False
        elif kind == "llm_text_done":
            with transaction.atomic():
                append_event(run.pk, "llm_text_done", {"text": event["text"]})
    return True


def _record_step(run: Run, state: RunState, event: dict[str, Any]) -> None:
    payload = dict(event)
    # What is stored for display and audit; the real arguments stay in the run's state only.
    payload["arguments"] = redact_call_arguments(event["tool"], event["arguments"])
    with transaction.atomic():
        if event["status"] == "approval_required":
            payload["approval_id"] = create_request(run=run, event=event, shown_arguments=payload["arguments"]).pk
        else:
            approval_id = (
                ApprovalRequest.objects.filter(run=run, call_id=event["call_id"]).values_list("pk", flat=True).first()
            )
            if approval_id is not None:
                payload["approval_id"] = approval_id
        append_event(run.pk, "execution_event", _jsonable(payload))
        Run.objects.filter(pk=run.pk).update(state=_jsonable(state.to_dict()), updated_at=timezone.now())


def _finish(run: Run, state: RunState) -> None:
    """Write the run's status after the runner stopped (unless it was cancelled meanwhile)."""
    if state.status == "approval_required":
        waiting = ", ".join(p.tool for p in state.pending)
        status, detail = RunStatus.AWAITING_APPROVAL, f"waiting for review of {waiting}"
    elif state.status == "completed":
        status, detail = RunStatus.COMPLETED, "the model gave its final answer"
    else:
        status, detail = RunStatus.FAILED, state.error or "the run failed"
    final_text = (state.last_response or {}).get("output_text", "") if status == RunStatus.COMPLETED else ""
    with transaction.atomic():
        changed = Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
            status=status,
            state=_jsonable(state.to_dict()),
            final_text=final_text,
            error=state.error or "" if status == RunStatus.FAILED else "",
            finished_at=timezone.now() if status in FINAL_STATUSES else None,
        )
        if changed == 1:
            append_event(run.pk, "status", {"status": status, "detail": detail})
    if status == RunStatus.AWAITING_APPROVAL:
        from .tasks import enqueue_resume

        # Resolutions that committed while this worker held the run would otherwise wait forever.
        if ApprovalRequest.objects.filter(
            run_id=run.pk, call_id__in=[p.call_id for p in state.pending]
        ).exclude(status=ApprovalStatus.PENDING).exists():
            transaction.on_commit(lambda: enqueue_resume(run.pk))


def _executor(run_id):
    def execute(spec, call_id: str, arguments: dict[str, Any]) -> Any:
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
            status=ToolExecution.Status.SUCCEEDED, output=_jsonable(output), finished_at=timezone.now()
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
        owner = Run.objects.filter(pk=run_id).values_list("started_by__username", flat=True).first() or ""
        record_run_event(run_id, type_, payload, run_owner=owner)
        publish_run_changed(run_id, event.seq)
        return event
    raise RuntimeError(f"could not append an event to run {run_id}: too many concurrent writers")


def events_after(run: Run, seq: int):
    return run.events.filter(seq__gt=seq).order_by("seq")


def _tool_names(run: Run) -> list[str]:
    return list(run.tools.values_list("name", flat=True))


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
