"""The BIGHUB decision backend: the control plane, through the official `bighub` SDK (0.1.0b5).

Calls, by decision mode (the seed page's names):

- `submit` (default): `actions.submit(action=..., value=..., ...)` if the SDK has it, else
  `actions.evaluate(...)`. In 0.1.0b5 `submit` is an alias of `evaluate`: `POST /actions/evaluate`.
- `submit_v2`: `actions.submit_v2(payload={...})` if the SDK has it, else
  `actions.evaluate_payload(payload={...})` (0.1.0b5 has no `submit_v2`): the same endpoint, payload form.
  (`submit_payload`, the reference adapter's name, is accepted as a synonym.)

Just before an approved call runs, `recheck` decides it again with `actions.dry_run(payload=...)`
(`POST /actions/evaluate` with `dry_run: true`): the control plane records nothing and raises no second
approval request for a call a reviewer has just approved.

Then `resolve_approval` -> `approvals.resolve(approval_id, resolution=, comment=)`
(`POST /approvals/{id}/resolve`), `report_outcome` -> `outcomes.report(...)` (`POST /outcomes/report`),
`ingest_memory` -> `actions.ingest_memory(...)` (`POST /actions/memory/ingest`) bounded by the given
timeout. Every SDK or network error becomes `DecisionBackendError`: for `evaluate` the runner's fail
mode then decides (closed blocks the call), for the best-effort calls the runner logs and moves on.
The reply mapping (enforced / review / advisory / legacy) is in `bighub_mapping.py`.

`approval_poller()` opens an `ApprovalPoller` (async: `AsyncApprovalPoller`): `GET /approvals/{id}?wait=N`,
the long poll that answers as soon as a reviewer decides, sent with the client's base URL and the SDK's own
headers and error parsing (0.1.0b5 has no `approvals.get`, and its transport takes no per-request timeout:
its 15 s default is shorter than a long poll). Failures come out as `ApprovalReadError`, transient or not.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from typing import Any
from urllib.parse import quote

import bighub
import httpx
from bighub.transport import build_headers, parse_response_or_raise

from governance.decisions import ActionRequest, ApprovalReadError, Decision, DecisionBackendError, Resolution
from governance.jsonsafe import json_safe

from .bighub_mapping import decision_from_reply

SDK_ERRORS: tuple[type[BaseException], ...] = (bighub.BighubError, httpx.HTTPError)
REPORTED_BY = "governance-dashboard"
_SUBMIT_MODES = {"submit": ("submit", "evaluate"), "submit_v2": ("submit_v2", "evaluate_payload"),
                 "submit_payload": ("submit_payload", "evaluate_payload")}


def _evaluate_context(action: ActionRequest) -> dict[str, Any]:
    context: dict[str, Any] = {"tool": action.tool, "arguments": json_safe(action.arguments)}
    if action.trace_id:
        # One guarded run is one agent session: the control plane groups its decisions by session_id
        # (the dashboard shows them as one remote run); the published adapter sends it when set.
        context["trace_id"] = context["session_id"] = action.trace_id
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


def _payload(action: ActionRequest) -> dict[str, Any]:
    """The payload form of one action (`evaluate_payload`, `submit_v2`, `dry_run`)."""
    payload: dict[str, Any] = {"action": action.action_name, "actor": action.actor, "domain": action.domain,
                               "context": _evaluate_context(action)}
    if action.value is not None:
        payload["value"] = action.value
    if action.target is not None:
        payload["target"] = action.target
    if action.metadata:
        payload["metadata"] = json_safe(action.metadata)
    return payload


def _submit(actions: Any, action: ActionRequest) -> Any:
    """Call the SDK for one action; returns the reply (a coroutine with the async client)."""
    method, payload_form = _submit_method(actions, action)
    if payload_form:
        return method(payload=_payload(action))
    metadata = json_safe(action.metadata) if action.metadata else None
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


# --- reading one approval request (long poll) ------------------------------------------------

# How long past `?wait=` a silent server is given before the request counts as a network failure.
POLL_GRACE_SECONDS = 10.0
POLL_CONNECT_SECONDS = 5.0
_TRANSIENT_STATUSES = frozenset({408, 425, 429})


def _approval_url(client: Any, approval_id: str) -> str:
    return f"{str(client.base_url).rstrip('/')}/approvals/{quote(str(approval_id), safe='')}"


def _sdk_headers(client: Any) -> dict[str, str]:
    """What the SDK's own transport sends: X-API-Key (or the bearer token), its User-Agent, Accept."""
    user_agent = getattr(client, "user_agent", None) or f"bighub-python/{bighub.__version__}"
    return build_headers(api_key=getattr(client, "api_key", None), bearer_token=getattr(client, "bearer_token", None),
                         user_agent=user_agent)


def _poll_timeout(wait_seconds: int) -> httpx.Timeout:
    return httpx.Timeout(wait_seconds + POLL_GRACE_SECONDS, connect=POLL_CONNECT_SECONDS)


def _transport_failure(approval_id: str, exc: httpx.HTTPError) -> ApprovalReadError:
    detail = str(exc) or type(exc).__name__
    return ApprovalReadError(f"could not reach the control plane for approval request {approval_id} "
                             f"({type(exc).__name__}: {detail})", transient=isinstance(exc, httpx.TransportError))


def _approval_item(approval_id: str, response: httpx.Response) -> dict[str, Any]:
    """The approval item of one answer, or `ApprovalReadError` saying why there is none."""
    try:
        body = parse_response_or_raise(response)
    except bighub.BighubAPIError as exc:
        status = exc.status_code
        detail = exc.detail if isinstance(exc.detail, str) else exc.message
        raise ApprovalReadError(
            f"the control plane answered {status} for approval request {approval_id}: {detail}",
            transient=status in _TRANSIENT_STATUSES or status >= 500,
            retry_after_seconds=getattr(exc, "retry_after_seconds", None),
        ) from exc
    except bighub.BighubAuthError as exc:
        raise ApprovalReadError(f"the control plane refused to show approval request {approval_id} "
                                f"({response.status_code}: {exc})", transient=False) from exc
    if not isinstance(body, dict) or not isinstance(body.get("status"), str):
        raise ApprovalReadError(f"the control plane's answer for approval request {approval_id} names no status",
                                transient=False)
    return body


class ApprovalPoller:
    """`get(approval_id, wait_seconds=N)`: one `GET /approvals/{id}?wait=N` for a `bighub.BighubClient`."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._http = httpx.Client(headers=_sdk_headers(client))

    def get(self, approval_id: str, *, wait_seconds: int) -> dict[str, Any]:
        try:
            response = self._http.get(_approval_url(self._client, approval_id), params={"wait": wait_seconds},
                                      timeout=_poll_timeout(wait_seconds))
        except httpx.HTTPError as exc:
            raise _transport_failure(approval_id, exc) from exc
        return _approval_item(approval_id, response)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApprovalPoller:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class AsyncApprovalPoller:
    """The asyncio twin of `ApprovalPoller`, for a `bighub.AsyncBighubClient`."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._http = httpx.AsyncClient(headers=_sdk_headers(client))

    async def get(self, approval_id: str, *, wait_seconds: int) -> dict[str, Any]:
        try:
            response = await self._http.get(_approval_url(self._client, approval_id), params={"wait": wait_seconds},
                                            timeout=_poll_timeout(wait_seconds))
        except httpx.HTTPError as exc:
            raise _transport_failure(approval_id, exc) from exc
        return _approval_item(approval_id, response)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncApprovalPoller:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()


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

    def recheck(self, action: ActionRequest) -> Decision:
        """Decide again without recording anything (a dry run), just before an approved call runs."""
        try:
            reply = self.client.actions.dry_run(payload=_payload(action))
        except SDK_ERRORS as exc:
            raise _failure("re-check", exc) from exc
        return decision_from_reply(reply)

    def approval_poller(self) -> ApprovalPoller:
        """A long poller for this client's approval requests; close it (or use `with`) when done."""
        return ApprovalPoller(self.client)

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

    async def recheck(self, action: ActionRequest) -> Decision:
        """Decide again without recording anything (a dry run), just before an approved call runs."""
        try:
            reply = await self.client.actions.dry_run(payload=_payload(action))
        except SDK_ERRORS as exc:
            raise _failure("re-check", exc) from exc
        return decision_from_reply(reply)

    def approval_poller(self) -> AsyncApprovalPoller:
        """An asyncio long poller for this client's approval requests; `async with` it."""
        return AsyncApprovalPoller(self.client)

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
