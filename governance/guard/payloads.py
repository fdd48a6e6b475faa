"""The dict shapes the public API returns: the `run(...)` payload and the approval-loop record.

`run(...)` returns the final model response's fields at the top level (as the published adapter
does, for backwards compatibility), the same under `llm_response`, and `execution` with every
governed event and the last one. The paused run's state travels under `run_state`, so it can be
stored and resumed in another process.
"""

from __future__ import annotations

from typing import Any

from .state import RunState


def run_payload(state: RunState) -> dict[str, Any]:
    llm_response = dict(state.last_response or {})
    payload: dict[str, Any] = {
        **llm_response,
        "llm_response": llm_response,
        "output_text": llm_response.get("output_text", "") if state.status == "completed" else "",
        "execution": {
            "events": list(state.events),
            "last": state.events[-1] if state.events else None,
            "status": state.status,
            "trace_id": state.trace_id,
            "pending_approvals": [
                {"call_id": p.call_id, "tool": p.tool, "arguments": p.arguments, "decision": p.decision,
                 "request_id": p.request_id, "event_id": p.event_id}
                for p in state.pending
            ],
            "error": state.error,
        },
        "run_state": state.to_dict(),
    }
    return payload


def approval_context(state: RunState, pending_index: int) -> dict[str, Any]:
    """What `on_approval_required(ctx)` receives for one paused call (the runner adds `backend`).

    `approval_id` is what the control plane knows the approval request by (BIGHUB's `approvals.resolve`
    and `GET /approvals/{id}` take it), `request_id` the decision's id, `approval_url` the request's
    page when the control plane gave one.
    """
    pending = state.pending[pending_index]
    return {
        "tool": pending.tool,
        "call_id": pending.call_id,
        "arguments": pending.arguments,
        "decision": pending.decision,
        "request_id": pending.request_id,
        "approval_id": pending.decision.get("approval_id"),
        "approval_url": (pending.decision.get("raw") or {}).get("approval_url"),
        "event_id": pending.event_id,
        "trace_id": state.trace_id,
        "reason": pending.decision.get("reason", ""),
    }


def normalise_callback_answer(answer: Any) -> tuple[str, str, dict[str, Any] | None]:
    """(resolution, comment, approval) from what an approval callback returned.

    Accepts {"resolution": "approved"|"rejected"|"expired", "comment": ...}, a bool, or None (no
    decision: the call stays pending). An answer that also carries `approval`, the control plane's
    approval item (as `wait_for_reviewer` returns), was read from the control plane: the resolution
    is already recorded there. Anything else is a configuration error, reported clearly.
    """
    if answer is None:
        return "", "", None
    if isinstance(answer, bool):
        return ("approved" if answer else "rejected"), "", None
    if isinstance(answer, dict) and isinstance(answer.get("resolution"), str):
        approval = answer.get("approval")
        if approval is not None and not isinstance(approval, dict):
            raise ValueError(f"on_approval_required's 'approval' must be the control plane's approval item (a dict); "
                             f"got {approval!r}")
        return answer["resolution"], str(answer.get("comment") or ""), approval
    raise ValueError(
        "on_approval_required must return {'resolution': 'approved'|'rejected', 'comment': str}, a bool, or None; "
        f"got {answer!r}"
    )


def approval_round(state: RunState, context: dict[str, Any], resolution: str, comment: str,
                   approval: dict[str, Any] | None) -> dict[str, Any]:
    """One settled round of `run_with_approval`, once the call's resolution has been carried out.

    Besides ours, the published adapter's keys: `resolved`, `resumed` (the call ran after approval),
    `approval` (the control plane's approval item, when there is one), `tool_output` (when it ran).
    """
    settled = [e for e in state.events if e["call_id"] == context["call_id"] and e["status"] != "approval_required"]
    last = settled[-1] if settled else None
    resumed = last is not None and last["status"] in ("executed", "tool_error")
    record = {**context, "resolution": resolution, "comment": comment, "resolved": True, "resumed": resumed}
    if approval is not None:
        record["approval"] = approval
    if resumed:
        record["tool_output"] = last["output"]
    return record


def approval_loop(state: RunState, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """`run_with_approval(...)["approval_loop"]`: the published adapter's keys, then ours.

    `required`, `resolved`, `resumed`, `request_id`, `approval`, `tool_output` describe the last round
    (the adapter settles one approval per run; ours settles each paused call in turn, all under
    `resolutions`); `status` is the run's, `pending` the calls still waiting.
    """
    pending = [approval_context(state, i) for i in range(len(state.pending))]
    loop: dict[str, Any] = {
        "required": any(e["status"] == "approval_required" for e in state.events),
        "resolved": False,
        "resumed": False,
    }
    last = rounds[-1] if rounds else (pending[0] if pending else None)
    if last is not None:
        loop["request_id"] = last["approval_id"] or last["request_id"]
    if rounds:
        loop["resolved"] = True
        loop["resumed"] = rounds[-1]["resumed"]
        loop.update({key: rounds[-1][key] for key in ("approval", "tool_output") if key in rounds[-1]})
    loop.update(rounds=len(rounds), resolutions=rounds, status=state.status, pending=pending)
    return loop
