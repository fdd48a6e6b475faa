"""How a BIGHUB `POST /actions/evaluate` reply (`bighub.ActionEvaluateResponse`) maps onto a `Decision`.

With an `enforcement_mode` (the decision-intelligence replies):

- `enforced`: the control plane's verdict is final. `enforced_verdict` (allowed / blocked /
  requires_approval, or proceed / do_not_proceed) is honoured; without one, the legacy fields
  (`allowed`, `requires_approval`, `result`/`decision`) are; with neither the call is blocked
  (fail safe, as the reference adapter does).
- `review`: a reviewer decides unless the reply allows the call: allowed only when the verdict allows
  it (`enforced_verdict`, else `recommendation == "proceed"`, else `allowed: true`); anything else,
  `do_not_proceed` included, requires approval.
- `advisory`: BIGHUB only advises, so the call is allowed and the advice is kept in the reason
  ("advisory only (BIGHUB recommends do_not_proceed): ...").

Without an enforcement mode (legacy replies) the fields map directly: `requires_approval` /
`human_review` true, or `result`/`decision` naming approval -> requires approval; otherwise a boolean
`allowed`; otherwise `result`/`decision`/`enforced_verdict`; otherwise the bare `recommendation`
(proceed, proceed_with_caution -> allowed; review_recommended -> requires approval; do_not_proceed ->
blocked). A reply with none of these is not a decision: `DecisionBackendError`, so the runner's fail
mode decides (closed by default). An unknown enforcement mode is read like a legacy reply.

Ids. `request_id` is BIGHUB's validation id (`validation_id`, else `request_id`); `approval_id` is what
`approvals.resolve` takes (`approval_id`, else the reply's `request_id`).
"""

from __future__ import annotations

from typing import Any

from governance.decisions import Decision, DecisionBackendError

_VERDICTS = {
    "allowed": "allowed", "allow": "allowed", "proceed": "allowed", "executed": "allowed", "approved": "allowed",
    "blocked": "blocked", "block": "blocked", "deny": "blocked", "denied": "blocked", "do_not_proceed": "blocked",
    "rejected": "blocked",
    "requires_approval": "requires_approval", "approval_required": "requires_approval",
    "review": "requires_approval", "review_recommended": "requires_approval", "pending_approval": "requires_approval",
    "pending": "requires_approval", "escalate": "requires_approval",
}
_RECOMMENDATIONS = {
    "proceed": "allowed", "proceed_with_caution": "allowed",
    "review_recommended": "requires_approval", "do_not_proceed": "blocked",
}
_WORDS = {"allowed": "allowed", "blocked": "blocked", "requires_approval": "requires approval"}


def _word(value: Any) -> str:
    return str(value).strip().lower() if isinstance(value, str) else ""


def _legacy_outcome(reply: dict[str, Any]) -> str | None:
    named = _VERDICTS.get(_word(reply.get("result"))) or _VERDICTS.get(_word(reply.get("decision")))
    if reply.get("requires_approval") is True or reply.get("human_review") is True or named == "requires_approval":
        return "requires_approval"
    if isinstance(reply.get("allowed"), bool):
        return "allowed" if reply["allowed"] else "blocked"
    return named


def _outcome(reply: dict[str, Any], mode: str) -> str | None:
    verdict = _VERDICTS.get(_word(reply.get("enforced_verdict")))
    recommendation = _word(reply.get("recommendation"))
    if mode == "advisory":
        return "allowed"
    if mode == "enforced":
        return verdict or _legacy_outcome(reply) or "blocked"
    if mode == "review":
        if verdict is not None:
            allowed = verdict == "allowed"
        elif recommendation:
            allowed = recommendation == "proceed"
        else:
            allowed = reply.get("allowed") is True and reply.get("requires_approval") is not True
        return "allowed" if allowed else "requires_approval"
    return _legacy_outcome(reply) or verdict or _RECOMMENDATIONS.get(recommendation)


def _reason(reply: dict[str, Any], mode: str, outcome: str) -> str:
    given = reply.get("reason") or reply.get("blocked_by") or ""
    if not given:
        intelligence = reply.get("decision_intelligence")
        if isinstance(intelligence, dict):
            given = intelligence.get("rationale") or ""
    given = str(given)
    if mode == "advisory":
        advice = reply.get("recommendation") or reply.get("enforced_verdict")
        if advice is None and _legacy_outcome(reply):
            advice = _legacy_outcome(reply)
        head = f"advisory only (BIGHUB recommends {advice})" if advice else "advisory only"
        return f"{head}: {given}" if given else head
    if given:
        return given
    reason = f"BIGHUB decided {_WORDS[outcome]}"
    if mode:
        reason += f" ({mode} mode)"
    if reply.get("recommendation"):
        reason += f"; recommendation: {reply['recommendation']}"
    return reason


def decision_from_reply(reply: Any) -> Decision:
    """The `Decision` for one evaluate reply; `DecisionBackendError` when the reply decides nothing."""
    if not isinstance(reply, dict):
        raise DecisionBackendError(f"BIGHUB replied with {type(reply).__name__}, not a JSON object")
    mode = _word(reply.get("enforcement_mode"))
    outcome = _outcome(reply, mode)
    if outcome is None:
        keys = ", ".join(sorted(reply)) or "none"
        raise DecisionBackendError(f"BIGHUB reply carries no decision (keys: {keys})")
    validation_id = reply.get("validation_id") or reply.get("request_id")
    approval_id = reply.get("approval_id") or reply.get("approval_request_id") or reply.get("request_id")
    named = reply.get("policy_ids") or reply.get("rule_ids")
    if not isinstance(named, list):
        named = [reply.get("blocked_by") or reply.get("rule_id")]
    return Decision(
        outcome=outcome,  # type: ignore[arg-type]
        reason=_reason(reply, mode, outcome),
        request_id=str(validation_id) if validation_id else None,
        policy_ids=tuple(str(p) for p in named if p),
        backend="bighub",
        approval_id=str(approval_id) if approval_id and outcome == "requires_approval" else None,
        raw=reply,
    )
