"""The BIGHUB decision backend, speaking to the control plane through the real `bighub` SDK.

decision_mode "submit" calls `actions.submit` (the SDK's `evaluate`), "submit_v2" calls
`actions.submit_v2` when the SDK has it, else `actions.submit_payload` (0.1.0b5's name for the
payload form). Approvals are resolved with `approvals.resolve`, outcomes reported with
`outcomes.report`, memory sent with `actions.ingest_memory`. Any SDK or network error becomes
`DecisionBackendError`, so the runner's fail mode decides what happens to the call.
"""

from __future__ import annotations

from typing import Any

import bighub

from governance.decisions import ActionRequest, Decision, DecisionBackendError, Resolution

from .bighub_mapping import decision_from_reply


def _submit_kwargs(action: ActionRequest) -> dict[str, Any]:
    return {
        "action": action.action_name,
        "value": action.value,
        "target": action.target,
        "actor": action.actor,
        "domain": action.domain,
        "context": {"tool": action.tool, "arguments": action.arguments, "trace_id": action.trace_id,
                    "call_id": action.call_id},
        "metadata": action.metadata or None,
    }


def _payload(action: ActionRequest) -> dict[str, Any]:
    payload = {k: v for k, v in _submit_kwargs(action).items() if v is not None}
    payload.pop("metadata", None)
    if action.metadata:
        payload["metadata"] = action.metadata
    return payload


def _submit(actions: Any, action: ActionRequest) -> Any:
    if action.decision_mode == "submit_v2":
        method = getattr(actions, "submit_v2", None) or actions.submit_payload
        return method(payload=_payload(action))
    return actions.submit(**_submit_kwargs(action))


def _outcome_kwargs(decision: Decision, status: str, output: Any) -> dict[str, Any]:
    return {"status": status, "request_id": decision.request_id, "details": {"output": output},
            "reported_by": "governance-dashboard"}


def _memory_kwargs(events: list[dict[str, Any]], source: str) -> dict[str, Any]:
    keys = ("event_id", "seq", "schema_version", "source_version", "tool", "status", "decision", "arguments",
            "call_id", "output", "error")
    first = events[0] if events else {}
    return {
        "events": [{k: e.get(k) for k in keys if e.get(k) is not None} for e in events],
        "source": source,
        "source_version": first.get("source_version"),
        "trace_id": first.get("trace_id"),
    }


class BighubBackend:
    name = "bighub"

    def __init__(self, client: bighub.BighubClient) -> None:
        self.client = client

    def evaluate(self, action: ActionRequest) -> Decision:
        try:
            reply = _submit(self.client.actions, action)
        except bighub.BighubError as exc:
            raise DecisionBackendError(f"BIGHUB: {exc}") from exc
        return decision_from_reply(reply)

    def resolve_approval(self, decision: Decision, *, resolution: Resolution, comment: str = "") -> dict[str, Any]:
        try:
            return self.client.approvals.resolve(decision.approval_id or decision.request_id or "",
                                                 resolution=resolution, comment=comment or None)
        except bighub.BighubError as exc:
            raise DecisionBackendError(f"BIGHUB: {exc}") from exc

    def report_outcome(self, action: ActionRequest, decision: Decision, *, status: str, output: Any) -> None:
        self.client.outcomes.report(**_outcome_kwargs(decision, status, output))

    def ingest_memory(self, events: list[dict[str, Any]], *, source: str, timeout_seconds: float) -> None:
        self.client.actions.ingest_memory(**_memory_kwargs(events, source))


class AsyncBighubBackend:
    name = "bighub"

    def __init__(self, client: bighub.AsyncBighubClient) -> None:
        self.client = client

    async def evaluate(self, action: ActionRequest) -> Decision:
        try:
            reply = await _submit(self.client.actions, action)
        except bighub.BighubError as exc:
            raise DecisionBackendError(f"BIGHUB: {exc}") from exc
        return decision_from_reply(reply)

    async def resolve_approval(
        self, decision: Decision, *, resolution: Resolution, comment: str = ""
    ) -> dict[str, Any]:
        try:
            return await self.client.approvals.resolve(decision.approval_id or decision.request_id or "",
                                                       resolution=resolution, comment=comment or None)
        except bighub.BighubError as exc:
            raise DecisionBackendError(f"BIGHUB: {exc}") from exc

    async def report_outcome(self, action: ActionRequest, decision: Decision, *, status: str, output: Any) -> None:
        await self.client.outcomes.report(**_outcome_kwargs(decision, status, output))

    async def ingest_memory(self, events: list[dict[str, Any]], *, source: str, timeout_seconds: float) -> None:
        await self.client.actions.ingest_memory(**_memory_kwargs(events, source))


def bighub_backend_from_settings(api_key: str, base_url: str | None = None) -> BighubBackend:
    kwargs: dict[str, Any] = {"api_key": api_key}
    if base_url:
        kwargs["base_url"] = base_url
    return BighubBackend(bighub.BighubClient(**kwargs))
