"""The guarded tool-calling loop, written once as a generator of effects.

`drive(state, config)` advances a `RunState` until it completes, fails, or pauses for approval
(first settling any call of the last turn left without an output, as in a state saved mid-turn);
`resolve(state, config, ...)` settles one paused call and, once none is left, drives on. Neither
performs I/O: they yield effects (call the model, ask the decision backend, invoke a tool, emit
an execution event, ...) and receive each effect's result. The sync and async drivers in
`governance.guard.drivers` carry the effects out, so governance rules live only here.

An effect that failed is answered with a `Failed` wrapping the exception; the loop decides what
a failure means (fail mode for decisions, `tool_error` for tools).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Generator
from dataclasses import dataclass, replace
from typing import Any

from governance.decisions import ActionRequest, Decision

from .errors import ToolArgumentsError
from .state import PendingApproval, RunState
from .tools import ToolRegistry, ToolSpec
from .validation import parse_tool_arguments

EVENT_SCHEMA_VERSION = 1
RESOLUTIONS = ("approved", "rejected", "expired")
_RESOLUTION_ALIASES = {"approve": "approved", "denied": "rejected", "deny": "rejected", "reject": "rejected"}


# --- effects -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallModel:
    """Create one model response; answered with the response as a JSON dict (plus `output_text`)."""

    request: dict[str, Any]


@dataclass(frozen=True)
class Decide:
    """Ask the decision backend; answered with a `Decision`.

    `recheck`: the call was approved and is about to run; a backend that records its decisions
    re-decides it without recording (a dry run), so no second approval request is raised.
    """

    action: ActionRequest
    recheck: bool = False


@dataclass(frozen=True)
class ResolveApproval:
    """Record a reviewer's resolution with the backend; answered with the backend's reply."""

    decision: Decision
    resolution: str
    comment: str


@dataclass(frozen=True)
class Invoke:
    """Run a registered tool with validated arguments; answered with its return value."""

    tool: str
    arguments: dict[str, Any]
    call_id: str


@dataclass(frozen=True)
class Emit:
    """Publish one execution event (on_decision hook, stream consumers)."""

    event: dict[str, Any]


@dataclass(frozen=True)
class ReportOutcome:
    """Tell the backend what happened after a decision (best effort)."""

    action: ActionRequest
    decision: Decision
    status: str
    output: Any


@dataclass(frozen=True)
class IngestMemory:
    """Send this segment's execution events to the backend's memory (best effort)."""

    events: list[dict[str, Any]]


@dataclass(frozen=True)
class Failed:
    """The answer to an effect that raised."""

    error: BaseException

    @property
    def message(self) -> str:
        return f"{type(self.error).__name__}: {self.error}"


Effect = CallModel | Decide | ResolveApproval | Invoke | Emit | ReportOutcome | IngestMemory
Loop = Generator[Effect, Any, None]


@dataclass(frozen=True)
class LoopConfig:
    registry: ToolRegistry
    actor: str
    domain: str
    decision_mode: str
    fail_mode: str
    max_tool_rounds: int
    source_version: str
    memory_enabled: bool = True


class RunFailed(RuntimeError):
    """The run cannot go on (provider error, too many tool rounds); `state.error` says why."""


# --- the loop ------------------------------------------------------------------------------


def drive(state: RunState, config: LoopConfig) -> Loop:
    """Advance the run until it completes, fails, or waits for approval. Mutates `state`."""
    segment_start = len(state.events)
    yield from _advance(state, config)
    if config.memory_enabled and len(state.events) > segment_start:
        yield IngestMemory(state.events[segment_start:])


def _advance(state: RunState, config: LoopConfig) -> Loop:
    # A state saved mid-turn (a durable caller saves it before each tool call) whose process died
    # may hold calls of the last response with no output yet: settle those first, with their own
    # call ids, so the model never gets a call without its output and is not asked the turn again.
    for call in _unanswered_calls(state):
        yield from _handle_call(state, config, call)
    while not state.pending:
        if state.rounds >= config.max_tool_rounds:
            state.status = "failed"
            state.error = (
                f"stopped after {config.max_tool_rounds} tool rounds: the model kept calling tools "
                "(raise max_tool_rounds if this run needs more)"
            )
            return
        response = yield CallModel(build_request(state, config))
        if isinstance(response, Failed):
            state.status = "failed"
            state.error = f"model call failed: {response.message}"
            return
        _record_response(state, response)
        calls = [item for item in response.get("output", []) if item.get("type") == "function_call"]
        if not calls:
            state.status = "completed"
            return
        state.rounds += 1
        for call in calls:
            yield from _handle_call(state, config, call)
    state.status = "approval_required"


def resolve(
    state: RunState, config: LoopConfig, *, key: str, resolution: str, comment: str = "", recorded: bool = False,
    arguments: dict[str, Any] | None = None, note: str = "",
) -> Loop:
    """Settle one paused call (approve, reject or expire it), then drive on if nothing else waits.

    The resolution is sent to the decision backend unless it is an expiry or `recorded` (the
    control plane already holds it: a reviewer decided there). Approval re-checks the current
    policy just before the tool runs: a call that is now blocked does not run. Rejection and
    expiry send the model `{"status": "denied", "reason": ...}`.

    `arguments`: an approval of the call with these arguments instead (a reviewer edited them); the
    re-check decides them, the tool gets them, the event records them, and the model's output carries
    `note` (what changed), since the model asked for the call with other arguments.
    """
    resolution = _RESOLUTION_ALIASES.get(resolution, resolution)
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {RESOLUTIONS}, got {resolution!r}")
    pending = state.find_pending(key)
    decision = Decision.from_dict(pending.decision)
    if resolution != "expired" and not recorded:
        reply = yield ResolveApproval(decision, resolution, comment)
        if isinstance(reply, Failed):
            # Nothing changed: the call stays pending and the caller sees why.
            raise RunFailed(f"could not record the {resolution} resolution: {reply.message}")
    spec = config.registry.get(pending.tool) if pending.tool in config.registry else None
    approval = {"resolution": resolution, "comment": comment}
    if arguments is not None and resolution == "approved":
        pending = replace(pending, arguments=arguments)
        approval["note"] = note or "the reviewer changed the call's arguments before approving it"
    if resolution == "approved" and spec is not None:
        yield from _run_approved(state, config, spec, pending, decision, approval)
    else:
        reason = comment or ("the approval request expired" if resolution == "expired" else "denied by a reviewer")
        if spec is None and resolution == "approved":
            reason = f"tool {pending.tool!r} is no longer registered"
        status = "expired" if resolution == "expired" else "denied"
        output = {"status": "denied", "reason": reason}
        yield from _settle(
            state, pending.call_id, pending.tool, pending.arguments, status, decision,
            output=output, error=None, reason=reason, approval=approval,
        )
    state.pending = [p for p in state.pending if p.call_id != pending.call_id]
    if not state.pending:
        state.status = "running"
        yield from drive(state, config)


def _run_approved(
    state: RunState,
    config: LoopConfig,
    spec: ToolSpec,
    pending: PendingApproval,
    decision: Decision,
    approval: dict[str, Any],
) -> Loop:
    action = _action_for(spec, config, pending.arguments, state.trace_id, pending.call_id)
    current = yield Decide(action, recheck=True)
    if isinstance(current, Failed) or current.outcome == "blocked":
        why = current.message if isinstance(current, Failed) else current.reason
        reason = f"approved, but no longer allowed when re-checked before running: {why}"
        yield from _settle(
            state, pending.call_id, spec.name, pending.arguments, "blocked",
            current if isinstance(current, Decision) else decision,
            output={"status": "blocked", "reason": reason}, error=None, reason=reason, approval=approval,
        )
        return
    who = approval["comment"] or "approved by a reviewer"
    yield from _execute(state, spec, pending.call_id, pending.arguments, action, decision, approval=approval,
                        reason=f"{who} (it had paused because {decision.reason})")


def _handle_call(state: RunState, config: LoopConfig, call: dict[str, Any]) -> Loop:
    call_id = call.get("call_id") or call.get("id") or f"call_{uuid.uuid4().hex}"
    name = str(call.get("name", ""))
    raw_arguments = call.get("arguments") or ""
    if name not in config.registry:
        reason = f"unknown tool {name!r}: registered tools are {', '.join(config.registry.names()) or 'none'}"
        yield from _refuse(state, call_id, name, {}, "blocked", reason, _synthetic(reason, "blocked"))
        return
    spec = config.registry.get(name)
    try:
        arguments = parse_tool_arguments(raw_arguments, spec.parameters_schema)
        action = _action_for(spec, config, arguments, state.trace_id, call_id)
    except ToolArgumentsError as exc:
        reason = f"invalid arguments for {name}: {exc.reason}"
        yield from _refuse(state, call_id, name, _preview(raw_arguments), "tool_error", reason, _synthetic(reason))
        return
    decision = yield Decide(action)
    if isinstance(decision, Failed):
        decision = _fail_mode_decision(config.fail_mode, decision)
    if decision.outcome == "allowed":
        yield from _execute(state, spec, call_id, arguments, action, decision)
    elif decision.outcome == "blocked":
        output = {"status": "blocked", "reason": decision.reason}
        yield from _settle(state, call_id, name, arguments, "blocked", decision, output=output, error=None,
                           reason=decision.reason)
    else:
        event = _event(state, name, call_id, "approval_required", decision, arguments, None, None, decision.reason)
        state.pending.append(
            PendingApproval(call_id=call_id, tool=name, arguments=arguments, decision=decision.to_dict(),
                            event_id=event["event_id"])
        )
        yield from _emit(state, event)


def _execute(
    state: RunState,
    spec: ToolSpec,
    call_id: str,
    arguments: dict[str, Any],
    action: ActionRequest,
    decision: Decision,
    approval: dict[str, Any] | None = None,
    reason: str | None = None,
) -> Loop:
    reason = reason or decision.reason
    result = yield Invoke(spec.name, arguments, call_id)
    if isinstance(result, Failed):
        error = result.message
        yield from _settle(state, call_id, spec.name, arguments, "tool_error", decision,
                           output={"status": "error", "error": error}, error=error, reason=reason,
                           approval=approval)
        yield ReportOutcome(action, decision, "tool_error", error)
        return
    yield from _settle(state, call_id, spec.name, arguments, "executed", decision, output=result, error=None,
                       reason=reason, approval=approval)
    yield ReportOutcome(action, decision, "executed", result)


def _refuse(
    state: RunState, call_id: str, name: str, arguments: dict[str, Any], status: str, reason: str, decision: Decision
) -> Loop:
    output = {"status": "blocked" if status == "blocked" else "error", "reason": reason}
    yield from _settle(state, call_id, name, arguments, status, decision, output=output,
                       error=reason if status == "tool_error" else None, reason=reason)


def _settle(
    state: RunState,
    call_id: str,
    name: str,
    arguments: dict[str, Any],
    status: str,
    decision: Decision,
    *,
    output: Any,
    error: str | None,
    reason: str,
    approval: dict[str, Any] | None = None,
) -> Loop:
    """Record a call's final event and give the model its `function_call_output`.

    The model is told the call's governance status with the tool's output or the reason: the tool's
    result as `{"status": "executed", "output": ...}`, every other `output` already says its status.
    """
    event = _event(state, name, call_id, status, decision, arguments, output, error, reason, approval)
    told = {"status": "executed", "output": output} if status == "executed" else output
    if approval and approval.get("note") and isinstance(told, dict):
        told = {**told, "note": approval["note"]}
    item = {"type": "function_call_output", "call_id": call_id, "output": output_text_for_model(told)}
    state.items.append(item)
    state.next_input.append(item)
    yield from _emit(state, event)


def _emit(state: RunState, event: dict[str, Any]) -> Loop:
    state.events.append(event)
    yield Emit(event)


# --- pure helpers --------------------------------------------------------------------------


def build_request(state: RunState, config: LoopConfig) -> dict[str, Any]:
    """The `responses.create` arguments for the next turn.

    store=false: nothing is kept server-side, so every turn replays the whole conversation and asks
    for encrypted reasoning to replay it too. store=true: chain by `previous_response_id`.
    """
    request: dict[str, Any] = {
        "model": state.model,
        "tools": config.registry.openai_tools(),
        **state.create_args,
        "store": state.store,
    }
    if state.store and state.previous_response_id:
        request["previous_response_id"] = state.previous_response_id
        request["input"] = list(state.next_input)
    else:
        request["input"] = list(state.items)
    if not state.store:
        include = list(request.get("include") or [])
        if "reasoning.encrypted_content" not in include:
            include.append("reasoning.encrypted_content")
        request["include"] = include
    return request


def _unanswered_calls(state: RunState) -> list[dict[str, Any]]:
    """The last response's function calls that have no output and do not wait for a reviewer."""
    if not state.last_response:
        return []
    settled = {item.get("call_id") for item in state.items if item.get("type") == "function_call_output"}
    settled |= {p.call_id for p in state.pending}
    return [
        item for item in state.last_response.get("output", [])
        if item.get("type") == "function_call" and item.get("call_id") and item["call_id"] not in settled
    ]


def _record_response(state: RunState, response: dict[str, Any]) -> None:
    state.last_response = response
    state.previous_response_id = response.get("id")
    state.next_input = []
    state.items.extend(_as_input_item(item) for item in response.get("output", []))


def _as_input_item(item: dict[str, Any]) -> dict[str, Any]:
    # Output items are valid input items; drop None-valued keys the API would reject on replay.
    return {key: value for key, value in item.items() if value is not None}


def _action_for(
    spec: ToolSpec, config: LoopConfig, arguments: dict[str, Any], trace_id: str, call_id: str
) -> ActionRequest:
    try:
        value = spec.value_from_args(arguments) if spec.value_from_args else None
        target = spec.target_from_args(arguments) if spec.target_from_args else None
        metadata = spec.metadata_from_args(arguments) if spec.metadata_from_args else {}
    except Exception as exc:  # user callables meet untrusted model output
        raise ToolArgumentsError(f"could not read value/target/metadata from the arguments: {exc}") from exc
    return ActionRequest(
        tool=spec.name,
        action=spec.action_name or spec.name,
        arguments=arguments,
        actor=spec.actor or config.actor,
        domain=spec.domain or config.domain,
        value=float(value) if value is not None else None,
        target=str(target) if target is not None else None,
        metadata=dict(metadata or {}),
        decision_mode=spec.decision_mode or config.decision_mode,
        trace_id=trace_id,
        call_id=call_id,
    )


def _fail_mode_decision(fail_mode: str, failure: Failed) -> Decision:
    if fail_mode == "open":
        return _synthetic(f"decision backend failed, fail_mode=open lets the call run ({failure.message})", "allowed")
    return _synthetic(f"decision backend failed, fail_mode=closed blocks the call ({failure.message})", "blocked")


def _synthetic(reason: str, outcome: str = "blocked") -> Decision:
    """A decision made by the adapter itself (bad model output, backend failure)."""
    return Decision(outcome=outcome, reason=reason, request_id=None, backend="adapter")  # type: ignore[arg-type]


def _preview(raw: Any, limit: int = 2_000) -> dict[str, Any]:
    text = raw if isinstance(raw, str) else repr(raw)
    return {"_raw": text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"}


def output_text_for_model(output: Any) -> str:
    if isinstance(output, str):
        return output
    return json.dumps(output, default=str, ensure_ascii=False)


def _event(
    state: RunState,
    tool: str,
    call_id: str,
    status: str,
    decision: Decision,
    arguments: dict[str, Any],
    output: Any,
    error: str | None,
    reason: str,
    approval: dict[str, Any] | None = None,
) -> dict[str, Any]:
    decision_dict = decision.to_dict()
    event = {
        "tool": tool,
        "call_id": call_id,
        "status": status,
        "decision": decision_dict,
        "arguments": arguments,
        "output": output,
        "error": error,
        "event_id": f"evt_{uuid.uuid4().hex}",
        "trace_id": state.trace_id,
        "request_id": decision.request_id,
        "seq": state.next_seq,
        "schema_version": EVENT_SCHEMA_VERSION,
        "source_version": state.source_version,
        "allowed": status == "executed",
        "reason": reason,
    }
    if approval is not None:
        event["approval"] = approval
    return event
