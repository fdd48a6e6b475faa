"""How a BIGHUB `/actions/evaluate` reply maps onto allowed / blocked / requires approval.

The rules of the seed adapter: with an `enforcement_mode`, `enforced` honours the verdict,
`review` asks a reviewer unless the reply allows the call, `advisory` lets it run and keeps the
advice in the reason. Legacy replies carry `allowed` / `requires_approval` booleans. A reply that
says nothing usable is an error, so the runner's fail mode decides (closed by default).
"""

from __future__ import annotations

from typing import Any

from governance.decisions import Decision, DecisionBackendError

_VERDICTS = {
    "allowed": "allowed", "allow": "allowed", "proceed": "allowed", "executed": "allowed",
    "blocked": "blocked", "block": "blocked", "deny": "blocked", "denied": "blocked", "do_not_proceed": "blocked",
    "requires_approval": "requires_approval", "approval_required": "requires_approval",
    "review": "requires_approval", "review_recommended": "requires_approval", "pending_approval": "requires_approval",
}


def _legacy_outcome(reply: dict[str, Any]) -> str | None:
    if reply.get("requires_approval") or reply.get("human_review"):
        return "requires_approval"
    if isinstance(reply.get("allowed"), bool):
        return "allowed" if reply["allowed"] else "blocked"
    return _VERDICTS.get(str(reply.get("result") or reply.get("decision") or "").lower())


def decision_from_reply(reply: Any) -> Decision:
    if not isinstance(reply, dict):
        raise DecisionBackendError(f"BIGHUB replied with {type(reply).__name__}, not a JSON object")
    mode = str(reply.get("enforcement_mode") or "").lower()
    verdict = _VERDICTS.get(str(reply.get("enforced_verdict") or "").lower())
    legacy = _legacy_outcome(reply)
    advice = reply.get("recommendation")
    if mode == "advisory":
        outcome = "allowed"
    elif mode == "review":
        outcome = "allowed" if (verdict or legacy) == "allowed" else "requires_approval"
    elif mode == "enforced":
        outcome = verdict or legacy
    else:
        outcome = legacy
    if outcome is None:
        raise DecisionBackendError(f"BIGHUB reply has no usable decision (keys: {', '.join(sorted(reply)) or 'none'})")
    reason = str(reply.get("reason") or reply.get("blocked_by") or "")
    if mode == "advisory" and advice:
        reason = f"advisory only (BIGHUB recommends {advice})" + (f": {reason}" if reason else "")
    if not reason:
        reason = f"BIGHUB decided {outcome.replace('_', ' ')}" + (f" ({mode} mode)" if mode else "")
    request_id = reply.get("request_id") or reply.get("validation_id")
    named = reply.get("policy_ids") or ([reply["blocked_by"]] if reply.get("blocked_by") else [])
    policy_ids = tuple(str(p) for p in named)
    return Decision(
        outcome=outcome,  # type: ignore[arg-type]
        reason=reason,
        request_id=request_id,
        policy_ids=policy_ids,
        backend="bighub",
        approval_id=reply.get("approval_id") or (request_id if outcome == "requires_approval" else None),
        raw=reply,
    )
