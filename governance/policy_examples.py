"""Policy examples: calls the policy set must decide in a given way, decided against the active set or a draft.

`failures(policy_set=...)` decides every `PolicyExample` (or the ones given) with a policy set given as a
snapshot (governance/versions.py: `snapshot()` is the active set, `draft(saving=obj)` the set as it would
be after a save) and returns one `Failure` per example that does not get the outcome it must get. The
admin runs it before every save of a policy, a tool or a domain default (governance/admin.py), and
`manage.py check_policies` runs it from the command line and CI. `refusal` and `evaluate` are how a call
is decided against a snapshot; `governance.replay` decides recorded calls with them too.

The engine is built from the snapshot as `governance.assembly` builds the live one (enabled active policies,
enabled tools' thresholds, domain defaults), and a call is read as a run reads it (the tool's value and
target arguments, its actor and domain unless the example names others). The kill switch is not
consulted: a pause is not part of the policy set.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from governance.decisions import ActionRequest, Decision, DecisionBackendError

from . import versions
from .models import DASHBOARD_ACTOR, PolicyExample

_WORDS = {"allowed": "allowed", "requires_approval": "requires approval", "blocked": "blocked"}


@dataclass(frozen=True)
class Failure:
    """An example that did not get its outcome: what it must get, what it got and why."""

    example: str
    expected: str
    got: str
    reason: str

    def __str__(self) -> str:
        return (f"example “{self.example}” must get {_WORDS[self.expected]} but gets {_WORDS.get(self.got, self.got)} "
                f"({self.reason})")


def engine_for(policy_set: dict[str, Any]) -> Any:
    """An embedded engine deciding as the policy set in `policy_set` (a snapshot) would. Raises
    `governance.policy.PolicyError` when one of its enabled policies does not load."""
    from governance.policy import (  # noqa: PLC0415 -- cedarpy only when examples are decided
        EmbeddedPolicyEngine,
        PolicySource,
        ToolThreshold,
    )

    sources: list[Any] = [PolicySource(name=name, text=policy["cedar"])
                          for name, policy in sorted(policy_set.get("policies", {}).items())
                          if policy.get("enabled") and policy.get("mode", "active") == "active"]  # shadows never decide
    for name, tool in sorted(policy_set.get("tools", {}).items()):
        if tool.get("enabled") and (tool.get("approve_above") is not None or tool.get("block_above") is not None):
            sources.append(ToolThreshold(name, approve_above=_number(tool.get("approve_above")),
                                         block_above=_number(tool.get("block_above"))))
    defaults = {domain: values["outcome"] for domain, values in policy_set.get("domain_defaults", {}).items()}
    return EmbeddedPolicyEngine(sources, domain_defaults=defaults)


def decide(example: PolicyExample, *, engine: Any, policy_set: dict[str, Any]) -> Decision:
    """The decision `engine` (built from `policy_set`) gives the example's call; no side effects."""
    refused = refusal(example.tool, policy_set)
    if refused is not None:
        return refused
    tool = policy_set["tools"][example.tool]
    arguments = example.arguments if isinstance(example.arguments, dict) else {}
    value = arguments.get(tool["value_argument"]) if tool.get("value_argument") else None
    target = arguments.get(tool["target_argument"]) if tool.get("target_argument") else None
    try:
        value = float(value) if value is not None else None
    except (TypeError, ValueError):
        return Decision(outcome="blocked", reason=f"its value argument {tool['value_argument']} is not a number")
    request = ActionRequest(
        tool=example.tool, action=example.tool, arguments=arguments,
        actor=example.actor or tool.get("actor") or DASHBOARD_ACTOR, domain=example.domain or tool.get("domain", ""),
        value=value, target=str(target) if target is not None else None,
        decision_mode=tool.get("decision_mode") or "submit",
    )
    return evaluate(engine, request)


def refusal(tool_name: str, policy_set: dict[str, Any]) -> Decision | None:
    """`blocked` when `policy_set` has no such tool or has it disabled (a run would not offer it); else None.
    Shared with `governance.replay`, which decides recorded calls as examples are decided."""
    tool = policy_set.get("tools", {}).get(tool_name)
    if tool is None:
        return Decision(outcome="blocked", reason=f"{tool_name} is not a registered tool")
    if not tool.get("enabled"):
        return Decision(outcome="blocked", reason=f"{tool_name} is disabled")
    return None


def evaluate(engine: Any, request: ActionRequest) -> Decision:
    """`engine`'s decision for `request`, or `blocked` when it cannot decide (fail closed, as a run does)."""
    try:
        return engine.evaluate(request)
    except DecisionBackendError as exc:
        return Decision(outcome="blocked", reason=f"the policy engine could not decide (fail closed): {exc}")


def failures(*, policy_set: dict[str, Any] | None = None,
             examples: Iterable[PolicyExample] | None = None) -> list[Failure]:
    """The examples (all of them unless given) that `policy_set` (a snapshot; None: the active set) does
    not decide as they must, in name order. Raises `PolicyError` when the set does not load."""
    examples = list(PolicyExample.objects.order_by("name") if examples is None else examples)
    if not examples:
        return []
    policy_set = versions.snapshot() if policy_set is None else policy_set
    engine = engine_for(policy_set)
    found = []
    for example in examples:
        decision = decide(example, engine=engine, policy_set=policy_set)
        if decision.outcome != example.expected:
            found.append(Failure(example=example.name, expected=example.expected, got=decision.outcome,
                                 reason=decision.reason))
    return found


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
