"""BIGHUB's rules, answered by the dashboard: deciding one call as the policy set would (`validate`), and
replaying a domain-wide BIGHUB rule over the recorded decisions before anyone writes it (`dry_run`).

`validate` is the dry run of /actions/evaluate (`agents.evaluate`): the same decision, nothing recorded,
no approval request raised, no session opened. A `rule_id` names a policy; the whole set decides and the
answer says whether that policy took part.

`dry_run` maps a BIGHUB rule (a domain-wide value limit, `bighub.RuleCreateRequest`) onto a draft of the
policy set: the current set (`governance.versions.snapshot()`) plus one Cedar policy scoped to the
enabled tools registered in the rule's domain (`draft_policy`), then replays the decisions recorded in the
rule's domain in the last days with it (`governance.replay`), each compared with what the current set
decides of it (not with the recorded outcome, which policy edits since may have moved): what changes is
what the rule changes. The replay runs inside the request, so a window holding more decisions than
`settings.GOVERNANCE_API_DRY_RUN_MAX_DECISIONS` is refused (422 on `days`).

The rule is added as a policy rather than written into the tools' thresholds because a BIGHUB rule only
limits: a tool's threshold also *permits* every value under it (and asks for approval of a call without a
value), so giving a threshold to a tool that has none would allow calls the set blocks today.
The policy's statements are exact in the engine's terms:

- `max_value`: a `forbid` of calls with a value above it. A forbid wins over everything, so a call is
  blocked above `max_value` whatever else the set says, and nothing else changes.
- `require_approval_above`: an `@approval("required")` permit of calls with a value above it. The engine
  makes a call that some permit allows require approval when an approval permit matches too, which is
  the rule; but a permit also makes a call that *nothing* matched Allow, where the domain default (blocked)
  would have decided. So the statement covers only tools where that cannot happen: tools with a threshold
  (its statements decide every call with a value) and every tool of a domain whose default is not
  blocked. Other tools are named under `unsupported_fields` rather than replayed wrongly.

Fields a policy cannot express (counts per day or hour, cooldowns, hours of the day: a decision here
depends on the call alone) are answered under `unsupported_fields`, each with why. Nothing is saved.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from governance import permissions, versions
from governance.assembly import embedded_engine
from governance.field_errors import FieldError
from governance.models import Policy, ToolRegistration
from governance.policy.sources import format_threshold, threshold_cents
from governance.replay import ReplayResult, TooManyDecisions, replay

from .evaluate import as_dry_run, bighub_answer, decide, remote_call
from .keys import bound_scope
from .models import AgentKey, AgentKeyRole
from .schemas import CallIn, RuleDryRunIn, RuleValidateIn

DRAFT_POLICY = "bighub-rule"

UNSUPPORTED = {
    "min_value": "BIGHUB does not say what a call below min_value gets, so the dashboard does not guess it",
    "max_per_day": "policies decide each call on its own: the dashboard keeps no count of calls per day",
    "max_per_hour": "policies decide each call on its own: the dashboard keeps no count of calls per hour",
    "cooldown_seconds": "policies decide each call on its own: they do not see the time since the previous call",
    "allowed_hours_start": "policies do not see the time of day (a decision depends on the call alone)",
    "allowed_hours_end": "policies do not see the time of day (a decision depends on the call alone)",
}


class RuleRejected(FieldError):
    """A rule or a validation naming something the dashboard cannot use (HTTP 422 naming `field`)."""


class DryRunRefused(PermissionError):
    """A key that may not replay a domain's recorded decisions (HTTP 403)."""


def validate(*, key: AgentKey, payload: RuleValidateIn) -> dict[str, Any]:
    """The decision /actions/evaluate would give the call, as BIGHUB's answer plus `decision`, `outcome`,
    what was decided and `rule_matched`. No side effects (the dry run of /actions/evaluate).

    Raises `keys.OutOfScope` (403), `keys.DomainRequired`, `CallRejected` or `RuleRejected` (422).
    """
    if payload.rule_id is not None and payload.rule_id not in _rule_ids():
        raise RuleRejected("rule_id", f"no policy or tool threshold is named {payload.rule_id!r}")
    item = CallIn(action=payload.action, value=payload.value, actor=payload.actor,
                  domain=payload.domain or _tool_domain(key, payload.action), metadata=payload.metadata)
    call = remote_call(key, item)
    call, decision = decide(call, embedded_engine(hold_shadow=True))  # what it holds is never saved
    decision = as_dry_run(key, call, decision)
    answer = bighub_answer(decision, None, dry_run=True)
    return {
        **answer, "decision": decision.outcome, "outcome": decision.outcome, "action": call.action,
        "actor": call.actor, "domain": call.domain, "value": call.value, "rule_id": payload.rule_id,
        "rule_matched": None if payload.rule_id is None else _names(payload.rule_id, decision.policy_ids),
        "policy_version": decision.policy_version,
    }


def _tool_domain(key: AgentKey, action: str) -> str | None:
    """The domain a registered tool is decided in, when the key may act there (else the key's own default)."""
    domain = ToolRegistration.objects.filter(name=action).values_list("domain", flat=True).first()
    return domain if domain in key.domains else None


def _rule_ids() -> set[str]:
    current = versions.snapshot()
    return set(current["policies"]) | {f"{name}-threshold" for name, tool in current["tools"].items()
                                       if tool.get("approve_above") is not None or tool.get("block_above") is not None}


def _names(rule_id: str, policy_ids: tuple[str, ...] | list[str]) -> bool:
    """Whether a decision's policy ids (`name`, `name/@id`, `name#n`) name the policy `rule_id`."""
    return any(p == rule_id or p.startswith((f"{rule_id}/", f"{rule_id}#")) for p in policy_ids)


def may_dry_run(key: AgentKey) -> bool:
    """A replay shows every actor's recorded decisions in the domain, with their runs: only an approver key
    whose dashboard user sees every run (`governance.permissions.sees_every_run`) may ask for one."""
    user = key.user if key.role == AgentKeyRole.APPROVER else None
    return user is not None and user.is_active and permissions.sees_every_run(user)


def dry_run(*, key: AgentKey, payload: RuleDryRunIn) -> dict[str, Any]:
    """What the rule would change among the decisions recorded in its domain in the last `payload.days` days.

    Raises `keys.OutOfScope` or `DryRunRefused` (403), `RuleRejected` (422). No side effects.
    """
    bound_scope(key, actor=None, domain=payload.domain)
    if not may_dry_run(key):
        raise DryRunRefused("replaying recorded decisions shows every actor's calls in the domain: it takes an "
                            "approver key whose user sees every run")
    if payload.max_value is None and payload.require_approval_above is None:
        raise RuleRejected("max_value", "name max_value or require_approval_above: a rule with neither limits nothing")
    current = versions.snapshot()
    draft, cedar, tools, left_out = _draft(current, payload)
    try:
        result = replay(draft, days=payload.days, domains=[payload.domain], baseline=current,
                        limit=settings.GOVERNANCE_API_DRY_RUN_MAX_DECISIONS)
    except TooManyDecisions as too_many:
        raise RuleRejected("days", f"{too_many.count:,} decisions were recorded in domain {payload.domain!r} in the "
                                   f"last {payload.days} days, more than the {too_many.limit:,} a dry run replays: "
                                   "send a smaller days") from None
    unsupported = [{"field": name, "value": getattr(payload, name), "reason": reason, "tools": None}
                   for name, reason in UNSUPPORTED.items() if getattr(payload, name) is not None]
    if left_out:
        unsupported.append({
            "field": "require_approval_above", "value": payload.require_approval_above, "tools": left_out,
            "reason": "these tools have no threshold and their domain's default is blocked: an approval statement "
                      "would make a call no policy decides need approval instead of being blocked, so they were "
                      "replayed without it"})
    return _answer(payload, result, draft_name=_draft_name(current), cedar=cedar, tools=tools,
                   unsupported=unsupported)


def _draft(current: dict, rule: RuleDryRunIn) -> tuple[dict, str, list[str], list[str]]:
    """(the draft policy set, the rule's Cedar, the tools it applies to, tools the approval part leaves out)."""
    tools = sorted(name for name, tool in current["tools"].items()
                   if tool.get("enabled") and tool.get("domain") == rule.domain)
    default = current["domain_defaults"].get(rule.domain, {}).get("outcome", "blocked")
    decided_by_threshold = [name for name in tools if current["tools"][name].get("approve_above") is not None
                            or current["tools"][name].get("block_above") is not None]
    approval_tools = tools if default != "blocked" else decided_by_threshold
    statements = []
    if rule.max_value is not None and tools:
        statements.append(_statement("max_value", "forbid", tools, rule.domain, rule.max_value, rule.name))
    if rule.require_approval_above is not None and approval_tools:
        statements.append(_statement("require_approval_above", "permit", approval_tools, rule.domain,
                                     rule.require_approval_above, rule.name))
    left_out = sorted(set(tools) - set(approval_tools)) if rule.require_approval_above is not None else []
    cedar = "\n\n".join(statements) + ("\n" if statements else "")
    draft = {key: dict(objects) for key, objects in current.items()}
    if statements:
        draft["policies"][_draft_name(current)] = {"cedar": cedar, "enabled": True, "mode": Policy.Mode.ACTIVE.value}
    return draft, cedar, tools, left_out


def _statement(ident: str, effect: str, tools: list[str], domain: str, amount: float, rule_name: str) -> str:
    actions = ", ".join(f"Action::{_cedar_string(t)}" for t in tools)
    reason = f"value {{value}} is above {format_threshold(amount)} (BIGHUB rule “{rule_name}”)"
    approval = '@approval("required")\n' if effect == "permit" else ""
    return (f'@id("{ident}")\n{approval}@reason({_cedar_string(reason)})\n'
            f"{effect}(principal, action in [{actions}], resource == Domain::{_cedar_string(domain)})\n"
            f"  when {{ context has value_cents && context.value_cents > {threshold_cents(amount)} }};")


def _cedar_string(text: str) -> str:
    """A Cedar string literal; control characters are dropped (names never need them)."""
    text = "".join(c for c in text if c.isprintable())
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _draft_name(current: dict) -> str:
    """A policy name no policy of the set has."""
    name, n = DRAFT_POLICY, 1
    while name in current["policies"]:
        n += 1
        name = f"{DRAFT_POLICY}-{n}"
    return name


def _answer(rule: RuleDryRunIn, result: ReplayResult, *, draft_name: str, cedar: str, tools: list[str],
            unsupported: list[dict[str, Any]]) -> dict[str, Any]:
    changed_by_tool: dict[str, int] = {}
    for group in result.groups:
        changed_by_tool[group["tool"]] = changed_by_tool.get(group["tool"], 0) + group["count"]
    by_tool = sorted(({"tool": tool, "total": n, "changed": changed_by_tool.get(tool, 0)}
                      for tool, n in result.tools_seen.items()), key=lambda t: (-t["changed"], t["tool"]))
    return {
        "dry_run": True,
        "rule": rule.model_dump(mode="json", exclude={"days"}, exclude_none=True),
        "tools": tools,
        "draft_policy": {"name": draft_name, "cedar": cedar},
        "days": rule.days, "since": result.since.isoformat(), "until": result.until.isoformat(),
        "total": result.total, "changed": result.changed, "would_change": result.changed > 0,
        "redacted": result.redacted, "matched": result.policy_matches.get(draft_name, 0),
        "transitions": [{"from": a, "to": b, "count": n} for a, b, n in result.transitions],
        "by_tool": by_tool,
        "groups_complete": sum(changed_by_tool.values()) == result.changed,
        "groups": result.groups, "examples": result.examples, "example_failures": result.example_failures,
        "unsupported_fields": unsupported,
    }
