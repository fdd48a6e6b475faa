"""The BIGHUB decision backend: the control plane, through the official `bighub` SDK (0.1.0b5).

Calls, by decision mode (the seed page's names):

- `submit` (default): `actions.submit(action=..., value=..., ...)` if the SDK has it, else
  `actions.evaluate(...)`. In 0.1.0b5 `submit` is an alias of `evaluate`: `POST /actions/evaluate`.
- `submit_v2`: `actions.submit_v2(payload={...})` if the SDK has it, else
  `actions.evaluate_payload(payload={...})` (0.1.0b5 has no `submit_v2`): the same endpoint, payload form.
  (`submit_payload`, the reference adapter's name, is accepted as a synonym.)

Then `resolve_approval` -> `approvals.resolve(approval_id, resolution=, comment=)`
(`POST /approvals/{id}/resolve`), `report_outcome` -> `outcomes.report(...)` (`POST /outcomes/report`),
`ingest_memory` -> `actions.ingest_memory(...)` (`POST /actions/memory/ingest`) bounded by the given
timeout. Every SDK or network error becomes `DecisionBackendError`: for `evaluate` the runner's fail
mode then decides (closed blocks the call), for the best-effort calls the runner logs and moves on.
The reply mapping (enforced / review / advisory / legacy) is in `bighub_mapping.py`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from typing import Any

import bighub
import httpx

from governance.decisions import ActionRequest, Decision, DecisionBackendError, Resolution
from governance.jsonsafe import json_safe

from .bighub_mapping import decision_from_reply

SDK_ERRORS: tuple[type[BaseException], ...] = (bighub.BighubError, httpx.HTTPError)
REPORTED_BY = "governance-dashboard"
_SUBMIT_MODES = {"submit": ("submit", "evaluate"), "submit_v2": ("submit_v2", "evaluate_payload"),
                 "submit_payload": ("submit_payload", "evaluate_payload")}


def _evaluate_context(action: ActionRequest) -> dict[str, Any]:
    context: dict[str, Any] = {"tool": action.tool, "arguments": json_safe(action.arguments)}
    if action.trace_id:
        context["trace_id"] = action.trace_id
    if action.call_id:
        context["call_id"] = action.call_id
    return context


def _submit_method(actions: Any, action: ActionRequest) -> tuple[Any, bool]:
    """The SDK method for the action's decision mode, and whether it takes the payload form."""
    names = _SUBMIT_MODES.get(action.decision_mode or "submit")
    if names is None:
        raise DecisionBackendError(f"unknown decision_mode {action.decision_mode!r}; expected submit or submit_v2")
    preferred, fallback = names
    method = getattr(actions, preferred, None) or getattr(actions, fallback)
    return method, preferred != "submit"


def _submit(actions: Any, action: ActionRequest) -> Any:
    """Call the SDK for one action; returns the reply (a coroutine with the async client)."""
    method, payload_form = _submit_method(actions, action)
    metadata = json_safe(action.metadata) if action.metadata else None
    if payload_form:
        payload: dict[str, Any] = {"action": action.action_name, "actor": action.actor, "domain": action.domain,
                                   "context": _evaluate_context(action)}
        if action.value is not None:
            payload["value"] = action.value
        if action.target is not None:
            payload["target"] = action.target
        if metadata:
            payload["metadata"] = metadata
        return method(payload=payload)
    return method(action=action.action_name, value=action.value, target=action.target, actor=action.actor,
                  domain=action.domain, context=_evaluate_context(action), metadata=metadata)


def _approval_id(decision: Decision) -> str:
    approval_id = decision.approval_id or decision.request_id
    if not approval_id:
        raise DecisionBackendError("this decision carries no BIGHUB approval id to resolve")
    return approval_id


def _outcome_kwargs(action: ActionRequest, decision: Decision, status: str, output: Any) -> dict[str, Any] | None:
    raw = decision.raw or {}
    request_id = raw.get("request_id") or decision.request_id
    if not request_id:
        return None  # no BIGHUB decision to attach an outcome to (e.g. the fail mode decided)
    kwargs: dict[str, Any] = {
        "status": status,
        "request_id": str(request_id),
        "description": f"{action.tool} {status}",
        "details": {"tool": action.tool, "call_id": action.call_id, "output": json_safe(output)},
        "reported_by": REPORTED_BY,
        "production_action": action.tool,
    }
    validation_id = raw.get("validation_id")
    if validation_id and validation_id != request_id:
        kwargs["validation_id"] = str(validation_id)
    recommendation = raw.get("recommendation")
    if recommendation in ("proceed", "proceed_with_caution", "review_recommended", "do_not_proceed"):
        kwargs["recommendation_followed"] = (recommendation.startswith("proceed")) == (decision.outcome == "allowed")
    return kwargs


def _memory_kwargs(events: list[dict[str, Any]], source: str) -> dict[str, Any]:
    sent = [{k: v for k, v in json_safe(e).items() if v is not None} for e in events]
    first = sent[0] if sent else {}
    kwargs: dict[str, Any] = {"events": sent, "source": source}
    for key in ("source_version", "trace_id", "actor", "domain", "model"):
        if first.get(key) is not None:
            kwargs[key] = first[key]
    return kwargs


def _failure(what: str, exc: BaseException) -> DecisionBackendError:
    detail = str(exc) or type(exc).__name__
    return DecisionBackendError(f"BIGHUB {what} failed ({type(exc).__name__}): {detail}")


class BighubBackend:
    """`DecisionBackend` over a `bighub.BighubClient` (sync)."""

    name = "bighub"

    def __init__(self, client: bighub.BighubClient, *, owns_client: bool = False) -> None:
        self.client = client
        self._owns_client = owns_client
        self._memory_clients: dict[float, Any] = {}
        self._lock = threading.Lock()

    def evaluate(self, action: ActionRequest) -> Decision:
        try:
            reply = _submit(self.client.actions, action)
        except SDK_ERRORS as exc:
            raise _failure("evaluate", exc) from exc
        return decision_from_reply(reply)

    def resolve_approval(self, decision: Decision, *, resolution: Resolution, comment: str = "") -> dict[str, Any]:
        try:
            reply = self.client.approvals.resolve(_approval_id(decision), resolution=resolution,
                                                  comment=comment or None)
        except SDK_ERRORS as exc:
            raise _failure("approval resolve", exc) from exc
        return reply if isinstance(reply, dict) else {"reply": reply}

    def report_outcome(self, action: ActionRequest, decision: Decision, *, status: str, output: Any) -> None:
        kwargs = _outcome_kwargs(action, decision, status, output)
        if kwargs is None:
            return
        try:
            self.client.outcomes.report(**kwargs)
        except SDK_ERRORS as exc:
            raise _failure("outcome report", exc) from exc

    def ingest_memory(self, events: list[dict[str, Any]], *, source: str, timeout_seconds: float) -> None:
        """Send events with an HTTP timeout of `timeout_seconds` and no retry (a client kept per timeout)."""
        if not events:
            return
        try:
            self._memory_client(timeout_seconds).actions.ingest_memory(**_memory_kwargs(events, source))
        except SDK_ERRORS as exc:
            raise _failure("memory ingest", exc) from exc

    def _memory_client(self, timeout_seconds: float) -> Any:
        if not dataclasses.is_dataclass(self.client):
            return self.client  # not the SDK's client: it has its own timeout
        with self._lock:
            client = self._memory_clients.get(timeout_seconds)
            if client is None:
                client = dataclasses.replace(self.client, timeout=timeout_seconds, max_retries=0)
                self._memory_clients[timeout_seconds] = client
            return client

    def close(self) -> None:
        with self._lock:
            clients, self._memory_clients = list(self._memory_clients.values()), {}
        for client in clients:
            client.close()
        if self._owns_client:
            self.client.close()


class AsyncBighubBackend:
    """`AsyncDecisionBackend` over a `bighub.AsyncBighubClient`."""

    name = "bighub"

    def __init__(self, client: bighub.AsyncBighubClient, *, owns_client: bool = False) -> None:
        self.client = client
        self._owns_client = owns_client

    async def evaluate(self, action: ActionRequest) -> Decision:
        try:
            reply = await _submit(self.client.actions, action)
        except SDK_ERRORS as exc:
            raise _failure("evaluate", exc) from exc
        return decision_from_reply(reply)

    async def resolve_approval(
        self, decision: Decision, *, resolution: Resolution, comment: str = ""
    ) -> dict[str, Any]:
        try:
            reply = await self.client.approvals.resolve(_approval_id(decision), resolution=resolution,
                                                        comment=comment or None)
        except SDK_ERRORS as exc:
            raise _failure("approval resolve", exc) from exc
        return reply if isinstance(reply, dict) else {"reply": reply}

    async def report_outcome(self, action: ActionRequest, decision: Decision, *, status: str, output: Any) -> None:
        kwargs = _outcome_kwargs(action, decision, status, output)
        if kwargs is None:
            return
        try:
            await self.client.outcomes.report(**kwargs)
        except SDK_ERRORS as exc:
            raise _failure("outcome report", exc) from exc

    async def ingest_memory(self, events: list[dict[str, Any]], *, source: str, timeout_seconds: float) -> None:
        """Send events, cancelling the request after `timeout_seconds`."""
        if not events:
            return
        try:
            await asyncio.wait_for(self.client.actions.ingest_memory(**_memory_kwargs(events, source)),
                                   timeout=timeout_seconds)
        except TimeoutError as exc:
            raise DecisionBackendError(f"BIGHUB memory ingest timed out after {timeout_seconds:g}s") from exc
        except SDK_ERRORS as exc:
            raise _failure("memory ingest", exc) from exc

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.close()


def bighub_backend_from_settings(
    api_key: str, base_url: str | None = None, *, timeout: float | None = None, max_retries: int | None = None
) -> BighubBackend:
    """A `BighubBackend` over a new `bighub.BighubClient(api_key=..., base_url=...)` (SDK default URL when None).

    The backend owns that client (`close()` closes it). A missing key is not refused here: BIGHUB answers
    401, which surfaces as `DecisionBackendError` and the runner's fail mode.
    """
    kwargs: dict[str, Any] = {"api_key": api_key}
    if base_url:
        kwargs["base_url"] = base_url
    if timeout is not None:
        kwargs["timeout"] = timeout
    if max_retries is not None:
        kwargs["max_retries"] = max_retries
    return BighubBackend(bighub.BighubClient(**kwargs), owns_client=True)
