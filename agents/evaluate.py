"""Deciding the tool calls remote agents ask about, exactly as the dashboard decides its own runs' calls.

The engine is the dashboard's embedded engine (`governance.assembly.embedded_engine`: the enabled
policies, the enabled tools' thresholds, the domain defaults, behind the kill switch: a paused tool,
actor, domain or everything is blocked, naming who paused it and when). What a call names maps onto the
`ActionRequest` an in-dashboard run builds for the same call:

- a registered, enabled tool in the domain it is registered in: the engine decides, with the key's
  actor. When `context.arguments` is sent, policies see them, the tool's value and target arguments
  give the value and target (as in a run), and they must match the tool's schema (otherwise the call
  is blocked, as a run refuses invalid arguments); a top-level `value`/`target` that contradicts
  them is refused (422). Without arguments, the top-level `value`/`target` are used.
- a registered tool that is disabled, or registered in another domain: blocked, saying why.
- a tool the dashboard does not know: its domain's default (blocked unless an admin set another), unless
  a pause covers the call; in an observe-only domain the default is recorded and the call allowed
  (governance/observe.py), as the engine's own decisions there are.

The answer has BIGHUB's shape (`bighub.ActionEvaluateResponse`) with `enforcement_mode: enforced`,
so the SDK's readers and `governance.backends.bighub_mapping` reach the dashboard's outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.db import transaction

from governance import observe
from governance.assembly import embedded_engine
from governance.decisions import ActionRequest, Decision, DecisionBackendError
from governance.field_errors import FieldError
from governance.guard.errors import ToolArgumentsError
from governance.guard.validation import validate_arguments
from governance.models import ToolRegistration
from governance.policy.engine import new_request_id
from runs import remote
from runs.models import Run

from . import activity, sessions
from .approval_hook import ApprovalTicket, granted, on_requires_approval
from .keys import bound_scope
from .models import AgentKey
from .schemas import MAX_CALL_ID

_RECOMMENDATIONS = {"allowed": "proceed", "requires_approval": "review_recommended", "blocked": "do_not_proceed"}
_WORDS = {"allowed": "allowed", "blocked": "blocked", "requires_approval": "requires approval"}


class CallRejected(FieldError):
    """A call whose fields contradict each other (HTTP 422 naming `field`, a dotted path in the body)."""


@dataclass(frozen=True)
class RemoteCall:
    """One call a remote agent asks about, after its key's scope was checked."""

    action: str
    actor: str
    domain: str
    value: float | None
    target: str | None
    arguments: dict[str, Any] | None
    context: dict[str, Any]
    field: str = ""  # where this call sits in the request body ("" or "actions.3"), for error messages


def remote_call(key: AgentKey, item: Any, *, actor: str | None = None, domain: str | None = None,
                field: str = "") -> RemoteCall:
    """The call a request item names (a `schemas.CallIn`); its own actor/domain win over the given defaults.

    Raises `keys.OutOfScope` (403), `keys.DomainRequired` (422) or CallRejected (422: a `metadata.call_id`
    longer than `context.call_id` may be) before anything is decided.
    """
    actor, domain = bound_scope(key, actor=item.actor or actor, domain=item.domain or domain)
    context = dict(item.metadata or {})
    if item.context is not None:
        context.update(item.context.model_dump(exclude_none=True))
    arguments = context.pop("arguments", None)
    call_id = context.get("call_id")
    if call_id is not None and len(str(call_id)) > MAX_CALL_ID:  # context.call_id is bounded by its schema
        raise CallRejected(_at_field(field, "metadata.call_id"),
                           f"call_id must be at most {MAX_CALL_ID} characters")
    return RemoteCall(action=item.action, actor=actor, domain=domain, value=item.value, target=item.target,
                      arguments=arguments, context=context, field=field)


def decide(call: RemoteCall, engine: Any) -> tuple[RemoteCall, Decision]:
    """The dashboard's decision for one call, with the call as it was decided (its value and target taken
    from its arguments, as a run takes them), naming the policy set version it was made under (also when
    the tool's registration decided it without the engine); no side effects. Raises CallRejected (422)."""
    call, decision = _decide(call, engine)
    if decision.policy_version is None:
        decision = replace(decision, policy_version=engine.policy_version)
    return call, decision


def _decide(call: RemoteCall, engine: Any) -> tuple[RemoteCall, Decision]:
    tool = ToolRegistration.objects.filter(name=call.action).first()
    if tool is None:
        unknown = ActionRequest(tool=call.action, arguments={}, actor=call.actor, domain=call.domain)
        paused = engine.paused(unknown)
        if paused is not None:
            return call, paused
        outcome = engine.domain_defaults.get(call.domain, engine.default_outcome)
        reason = (f"{call.action} is not a tool registered in the dashboard; the default of domain {call.domain!r} "
                  f"is {_WORDS[outcome]}")
        return call, observe.let_through(unknown, _decision(outcome, reason, (f"default:{call.domain}",)))
    if not tool.enabled:
        return call, _decision("blocked", f"{tool.name} is disabled in the dashboard")
    if tool.domain != call.domain:
        return call, _decision("blocked", f"{tool.name} is registered in domain {tool.domain!r}, not {call.domain!r}")
    if call.arguments is not None:
        schema = tool.schema_override if tool.schema_override is not None else tool.schema
        try:
            validate_arguments(call.arguments, schema)
        except ToolArgumentsError as exc:
            return call, _decision("blocked", f"invalid arguments for {tool.name}: {exc.reason}")
    call = replace(call, value=_value(tool, call), target=_target(tool, call))
    action = ActionRequest(
        tool=tool.name, action=tool.name, arguments=call.arguments or {}, actor=call.actor, domain=call.domain,
        value=call.value, target=call.target, decision_mode=tool.decision_mode,
        trace_id=_text(call.context.get("trace_id")), call_id=_text(call.context.get("call_id")),
    )
    try:
        return call, engine.evaluate(action)
    except DecisionBackendError as exc:
        reason = f"the policy engine could not decide, so the call is blocked (fail closed): {exc}"
        return call, _decision("blocked", reason)


def evaluate_calls(*, key: AgentKey, calls: list[RemoteCall], dry_run: bool = False,
                   base_url: str = "") -> list[dict[str, Any]]:
    """Decide every call and answer each in BIGHUB's shape, in order.

    A call in a session someone cancelled is blocked, naming them (runs/remote.py). Side effects,
    unless `dry_run`, in one transaction: the session's run opened if new (`agents.sessions`); for each
    call one AgentActivity row and one event on that run (with its audit record), the differences of
    the shadow policies (governance/shadow.py, naming that run) and what the policies were given
    (governance/decision_inputs.py, a `DecisionInput`); for a
    requires_approval decision the approval request (`approval_hook.on_requires_approval`, its page
    under `base_url`) and the run awaiting approval. A call that is refused (CallRejected) refuses the
    whole request before anything is written.
    """
    # Shadow policies' differences and the decisions' inputs are held and saved with each call's rows below
    # (none on a dry run).
    engine = embedded_engine(hold_shadow=True, source="api")
    decided = [decide(call, engine) for call in calls]
    if dry_run:
        return [bighub_answer(as_dry_run(key, call, decision), None, dry_run=True) for call, decision in decided]
    answers = []
    with transaction.atomic():
        for call, decision in decided:
            session = sessions.session_of(key, call.context)
            run = sessions.session_run(key, session)
            shown = activity.shown_call(call)
            engine.save_held(request_id=decision.request_id, run_id=run.pk, shown=shown)
            decision = granted(call=call, decision=_unless_cancelled(run, decision), run=run)
            ticket = (on_requires_approval(key=key, call=call, decision=decision, session=session, run=run,
                                           shown=shown, base_url=base_url)
                      if decision.requires_approval else None)
            answer = bighub_answer(decision, ticket)
            approval_id = ticket.approval_id if ticket else None
            activity.record_decision(key=key, call=call, decision=decision, answer=answer, session=session, run=run,
                                     approval_id=approval_id, shown=shown)
            if approval_id is not None:
                remote.await_approval(run, tool=call.action, approval_id=approval_id)
            answers.append(answer)
    return answers


def as_dry_run(key: AgentKey, call: RemoteCall, decision: Decision) -> Decision:
    """What a dry run answers for a decided call: the decision, or a block naming who cancelled its session.
    Reads only: no session is opened, nothing is recorded, no approval request is raised."""
    return _unless_cancelled(sessions.existing_run(key.pk, sessions.session_of(key, call.context)), decision)


def _unless_cancelled(run: Run | None, decision: Decision) -> Decision:
    """The decision, or a block naming who cancelled the session."""
    refused = remote.refusal(run) if run is not None else None
    return decision if refused is None else _decision("blocked", refused)


def bighub_answer(decision: Decision, ticket: ApprovalTicket | None, *, dry_run: bool = False) -> dict[str, Any]:
    """A decision as BIGHUB's `ActionEvaluateResponse`: the legacy fields and the enforced verdict agree."""
    outcome = decision.outcome
    policy_ids = list(decision.policy_ids)
    return {
        "request_id": ticket.request_id if ticket else decision.request_id,
        "validation_id": decision.request_id,
        "allowed": outcome == "allowed",
        "result": outcome,
        "requires_approval": outcome == "requires_approval",
        "human_review": outcome == "requires_approval",
        "enforcement_mode": "enforced",
        "enforced_verdict": outcome,
        "recommendation": _RECOMMENDATIONS[outcome],
        "reason": decision.reason,
        "policy_ids": policy_ids,
        "blocked_by": policy_ids[0] if outcome == "blocked" and policy_ids else None,
        "approval_id": ticket.request_id if ticket else None,
        "approval_url": ticket.approval_url if ticket else None,
        "dry_run": dry_run,
    }


def _decision(outcome: str, reason: str, policy_ids: tuple[str, ...] = ()) -> Decision:
    return Decision(outcome=outcome, reason=reason, request_id=new_request_id(),  # type: ignore[arg-type]
                    policy_ids=policy_ids, backend="embedded")


def _value(tool: ToolRegistration, call: RemoteCall) -> float | None:
    if call.arguments is None or not tool.value_argument:
        return call.value
    named = call.arguments.get(tool.value_argument)
    try:
        value = None if named is None else float(named)
    except (TypeError, ValueError):
        raise CallRejected(_at(call, f"context.arguments.{tool.value_argument}"),
                           f"{tool.value_argument} must be a number") from None
    if call.value is not None and call.value != value:  # values are not repeated: they may be redacted ones
        raise CallRejected(_at(call, "value"), f"value contradicts context.arguments.{tool.value_argument}; "
                                               "send one amount")
    return value


def _target(tool: ToolRegistration, call: RemoteCall) -> str | None:
    if call.arguments is None or not tool.target_argument:
        return call.target
    named = call.arguments.get(tool.target_argument)
    target = None if named is None else str(named)
    if call.target is not None and call.target != target:
        raise CallRejected(_at(call, "target"), f"target contradicts context.arguments.{tool.target_argument}; "
                                                "send one target")
    return target


def _at(call: RemoteCall, field: str) -> str:
    return _at_field(call.field, field)


def _at_field(where: str, field: str) -> str:
    return f"{where}.{field}" if where else field


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
