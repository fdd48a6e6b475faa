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
    """What `on_approval_required(ctx)` receives for one paused call."""
    pending = state.pending[pending_index]
    return {
        "tool": pending.tool,
        "call_id": pending.call_id,
        "arguments": pending.arguments,
        "decision": pending.decision,
        "request_id": pending.request_id,
        "approval_id": pending.decision.get("approval_id"),
        "event_id": pending.event_id,
        "trace_id": state.trace_id,
        "reason": pending.decision.get("reason", ""),
    }


def normalise_callback_answer(answer: Any) -> tuple[str, str]:
    """(resolution, comment) from what an approval callback returned.

    Accepts {"resolution": "approved"|"rejected", "comment": ...}, a bool, or None (no decision:
    the call stays pending). Anything else is a configuration error, reported clearly.
    """
    if answer is None:
        return "", ""
    if isinstance(answer, bool):
        return ("approved" if answer else "rejected"), ""
    if isinstance(answer, dict) and isinstance(answer.get("resolution"), str):
        return answer["resolution"], str(answer.get("comment") or "")
    raise ValueError(
        "on_approval_required must return {'resolution': 'approved'|'rejected', 'comment': str}, a bool, or None; "
        f"got {answer!r}"
    )
