"""The embedded policy engine: Cedar (through cedarpy) deciding allowed / blocked / requires approval.

Mapping of a proposed call onto a Cedar request (see docs/policies.md):
principal `Agent::"<actor>"`, action `Action::"<tool>"`, resource `Domain::"<domain>"`, context
`{tool, actor, domain, value_cents?, target?, arguments?}`. One evaluation gives all three
outcomes: Cedar denies when a `forbid` matches (blocked); it allows when a `permit` matches, and a
matching permit annotated `@approval("required")` makes the call wait for a reviewer (the most
restrictive matching permit wins); when nothing matches, the domain's default applies (blocked
unless configured otherwise: fail closed).

Policies are parsed once, at construction, into one `cedarpy.PolicySet` and reused for every call.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import cedarpy

from governance.decisions import ActionRequest, Decision, Resolution

from .sources import PolicySource, ToolThreshold, format_amount, to_cents
from .text import PolicyError, PolicyProblem, Statement, split_statements

DEFAULT_OUTCOMES = ("blocked", "requires_approval", "allowed")
_EMPTY_ENTITIES = cedarpy.Entities.from_json_str("[]")
_CONTEXT_ATTRIBUTE = re.compile(r"\bcontext(?:\s*\.\s*|\s+has\s+)(\w+)")
CACHE_SIZE = 4096


@dataclass(frozen=True)
class _Compiled:
    """One Cedar statement as the engine knows it: who wrote it and how to explain it."""

    display_id: str
    effect: str
    needs_approval: bool
    reason_template: str


class EmbeddedPolicyEngine:
    """A `DecisionBackend` over Cedar policies kept in this process."""

    name = "embedded"

    def __init__(
        self,
        policies: list[PolicySource | ToolThreshold] | None = None,
        *,
        domain_defaults: dict[str, str] | None = None,
        default_outcome: str = "blocked",
    ) -> None:
        self.domain_defaults = dict(domain_defaults or {})
        self.default_outcome = default_outcome
        for outcome in (default_outcome, *self.domain_defaults.values()):
            if outcome not in DEFAULT_OUTCOMES:
                raise ValueError(f"a domain default must be one of {DEFAULT_OUTCOMES}, got {outcome!r}")
        self._compiled: list[_Compiled] = []
        texts: list[str] = []
        problems: list[PolicyProblem] = []
        for source in policies or []:
            name, text = (source.name, source.to_cedar()) if isinstance(source, ToolThreshold) else (
                source.name, source.text)
            for index, statement in enumerate(split_statements(text)):
                try:
                    cedarpy.PolicySet.from_str(statement.text)
                except ValueError as exc:
                    problems.append(PolicyProblem(statement.line, str(exc), name))
                    continue
                texts.append(statement.text)
                self._compiled.append(_compile(name, index, statement))
        if problems:
            raise PolicyError(problems)
        self._policy_set = cedarpy.PolicySet.from_str("\n".join(texts)) if texts else None
        # Building the request dominates cedarpy's per-call cost, so the context carries only the
        # attributes some policy reads.
        self._context_reads = {name for t in texts for name in _CONTEXT_ATTRIBUTE.findall(t)}
        # With no entity store and no clock, a Cedar answer depends on the request alone: results
        # are memoised exactly, keyed by the request as sent.
        self._results: OrderedDict[tuple[str, str, str, str], tuple[bool, tuple[str, ...], tuple[str, ...]]]
        self._results = OrderedDict()

    @property
    def policy_ids(self) -> list[str]:
        return [c.display_id for c in self._compiled]

    # -- DecisionBackend ----------------------------------------------------------------------

    def evaluate(self, action: ActionRequest) -> Decision:
        request_id = f"dec_{uuid.uuid4().hex}"
        value_cents = to_cents(action.value) if action.value is not None else None
        if self._policy_set is None:
            return self._default(action, request_id, value_cents, [])
        allowed, reasons, errors = self._authorize(action, value_cents)
        matched = [self._compiled[int(pid[6:])] for pid in reasons]  # ids are "policy<N>", in order
        if allowed:
            approvals = [c for c in matched if c.needs_approval]
            if approvals:
                return self._decision("requires_approval", action, request_id, value_cents, approvals, list(errors))
            return self._decision("allowed", action, request_id, value_cents, matched, list(errors))
        if matched:  # a forbid matched
            return self._decision("blocked", action, request_id, value_cents, matched, list(errors))
        return self._default(action, request_id, value_cents, list(errors))

    def resolve_approval(self, decision: Decision, *, resolution: Resolution, comment: str = "") -> dict[str, Any]:
        return {"status": resolution, "request_id": decision.request_id, "comment": comment}

    def report_outcome(self, action: ActionRequest, decision: Decision, *, status: str, output: Any) -> None:
        return None  # the embedded engine keeps no remote record; the dashboard's audit log does

    def ingest_memory(self, events: list[dict[str, Any]], *, source: str, timeout_seconds: float) -> None:
        return None

    # -- internals ----------------------------------------------------------------------------

    def _authorize(self, action: ActionRequest, value_cents: int | None):
        context: dict[str, Any] = {}
        reads = self._context_reads
        if "tool" in reads:
            context["tool"] = action.tool
        if "actor" in reads:
            context["actor"] = action.actor
        if "domain" in reads:
            context["domain"] = action.domain
        if value_cents is not None and "value_cents" in reads:
            context["value_cents"] = value_cents
        if action.target is not None and "target" in reads:
            context["target"] = action.target
        if "arguments" in reads:
            context["arguments"] = _cedar_value(action.arguments)
        context_json = json.dumps(context, sort_keys=True)
        key = (action.action_name, action.actor, action.domain, context_json)
        cached = self._results.get(key)
        if cached is not None:
            return cached
        request = {
            "principal": {"type": "Agent", "id": action.actor},
            "action": {"type": "Action", "id": action.action_name},
            "resource": {"type": "Domain", "id": action.domain},
            "context": context_json,
        }
        result = cedarpy.is_authorized(request, self._policy_set, _EMPTY_ENTITIES)
        answer = (result.allowed, tuple(result.diagnostics.reasons), tuple(result.diagnostics.errors))
        self._results[key] = answer
        if len(self._results) > CACHE_SIZE:
            self._results.popitem(last=False)
        return answer

    def _decision(
        self,
        outcome: str,
        action: ActionRequest,
        request_id: str,
        value_cents: int | None,
        matched: list[_Compiled],
        errors: list[str],
    ) -> Decision:
        why = "; ".join(_explain(c.reason_template, value_cents) + f" (policy {c.display_id})" for c in matched)
        verb = {"allowed": "is allowed", "blocked": "is blocked", "requires_approval": "requires approval"}[outcome]
        return Decision(
            outcome=outcome,  # type: ignore[arg-type]
            reason=f"{action.tool} {verb}: {why}",
            request_id=request_id,
            policy_ids=tuple(c.display_id for c in matched),
            backend=self.name,
            raw={"cedar_errors": errors} if errors else {},
        )

    def _default(self, action: ActionRequest, request_id: str, value_cents: int | None, errors: list[str]) -> Decision:
        outcome = self.domain_defaults.get(action.domain, self.default_outcome)
        reason = (
            f"no policy matches {action.tool} in domain {action.domain!r}; "
            f"the domain default is {outcome.replace('_', ' ')}"
        )
        return Decision(
            outcome=outcome,  # type: ignore[arg-type]
            reason=reason,
            request_id=request_id,
            policy_ids=(f"default:{action.domain}",),
            backend=self.name,
            raw={"cedar_errors": errors} if errors else {},
        )


class AsyncEmbeddedPolicyEngine:
    """The same engine for `AsyncGuardedOpenAI`; evaluation is CPU-only and fast, so it runs inline."""

    name = "embedded"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.engine = EmbeddedPolicyEngine(*args, **kwargs)

    async def evaluate(self, action: ActionRequest) -> Decision:
        return self.engine.evaluate(action)

    async def resolve_approval(
        self, decision: Decision, *, resolution: Resolution, comment: str = ""
    ) -> dict[str, Any]:
        return self.engine.resolve_approval(decision, resolution=resolution, comment=comment)

    async def report_outcome(self, action: ActionRequest, decision: Decision, *, status: str, output: Any) -> None:
        return None

    async def ingest_memory(self, events: list[dict[str, Any]], *, source: str, timeout_seconds: float) -> None:
        return None


def _compile(source_name: str, index: int, statement: Statement) -> _Compiled:
    annotations = statement.annotations
    own_id = annotations.get("id")
    display_id = f"{source_name}/{own_id}" if own_id else f"{source_name}#{index + 1}"
    default_reason = "matched" if statement.effect == "permit" else "forbidden"
    return _Compiled(
        display_id=display_id,
        effect=statement.effect,
        needs_approval=annotations.get("approval", "").lower() == "required",
        reason_template=annotations.get("reason", default_reason),
    )


def _explain(template: str, value_cents: int | None) -> str:
    if "{value}" not in template:
        return template
    if value_cents is None:
        return "no value was given for the call"
    return template.replace("{value}", format_amount(value_cents))


def _cedar_value(value: Any) -> Any:
    """Tool arguments as Cedar JSON: no nulls and no floats (compare amounts with value_cents)."""
    if isinstance(value, dict):
        return {k: _cedar_value(v) for k, v in value.items() if v is not None and not isinstance(v, float)}
    if isinstance(value, list):
        return [_cedar_value(v) for v in value if v is not None and not isinstance(v, float)]
    return value
