"""`wait_for_reviewer(...)`: a ready `on_approval_required` callback that waits for a reviewer's decision.

The guard's BIGHUB backend (the dashboard's `/bighub/` API, or the hosted control plane) raised an
approval request for the paused call. The callback long-polls `GET /approvals/{id}?wait=N` through the
guard's own bighub client, in requests of at most `poll_seconds`, until a reviewer decides or `timeout`
passes, and answers what `run_with_approval` takes:

| the control plane's `status` | answer | what the run does |
|---|---|---|
| `approved` | approved, with the reviewer's comment | re-checks the call, runs it once, the model goes on |
| `rejected` (or `denied`) | rejected, the comment or "denied by a reviewer" | the model is told why |
| `expired` | expired | the model is told the request expired |
| still `pending` after `timeout` | expired, "no reviewer decided within N s" | the model is told so |

The wait returns as soon as the control plane answers; it sleeps only between failed requests. Network
errors, timeouts and 408/425/429/5xx are retried with bounded exponential backoff (at least as long as
a Retry-After) within `timeout`; a refusal (401/403, 404, ...) or an answer with no status ends the wait
at once. Either way the call is not approved, and the reason says why. The answer carries the control
plane's approval item (`approval`), so the runner does not send a resolution the reviewer already made.

With `AsyncGuardedOpenAI` the callback returns a coroutine (httpx's async client, `asyncio.sleep`), so
the event loop is never blocked.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from governance.decisions import ApprovalReadError

from .errors import AdapterConfigurationError

logger = logging.getLogger("governance.guard")

# The control plane's approval `status` words (the SDK's `approvals.resolve` takes approved/rejected,
# its reviews API and the dashboard say denied) -> the resolution `run_with_approval` carries out.
_RESOLUTIONS = {"approved": "approved", "rejected": "rejected", "denied": "rejected", "expired": "expired"}
# A pending answer that came back sooner than this was not held by the server (no long-poll support):
# ask again only after this long, so such a server is polled once a second, not hammered.
MIN_REQUEST_INTERVAL_SECONDS = 1.0


@dataclass(frozen=True)
class WaitForReviewer:
    """The callback `wait_for_reviewer(...)` returns; its fields are the arguments given there."""

    timeout: float = 600.0
    poll_seconds: int = 25
    retry_backoff_seconds: float = 0.5
    retry_max_backoff_seconds: float = 5.0

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise AdapterConfigurationError(f"wait_for_reviewer timeout must be positive seconds, got {self.timeout!r}")
        if not isinstance(self.poll_seconds, int) or not 1 <= self.poll_seconds <= 300:
            raise AdapterConfigurationError(
                f"wait_for_reviewer poll_seconds must be whole seconds from 1 to 300, got {self.poll_seconds!r}")
        if not 0 < self.retry_backoff_seconds <= self.retry_max_backoff_seconds:
            raise AdapterConfigurationError(
                "wait_for_reviewer needs 0 < retry_backoff_seconds <= retry_max_backoff_seconds, got "
                f"{self.retry_backoff_seconds!r} and {self.retry_max_backoff_seconds!r}")

    def __call__(self, ctx: dict[str, Any]) -> Any:
        backend = ctx.get("backend")
        open_poller = getattr(backend, "approval_poller", None)
        if open_poller is None:
            raise AdapterConfigurationError(
                "wait_for_reviewer waits for a reviewer at a BIGHUB control plane, but this guard decides with "
                f"{getattr(backend, 'name', type(backend).__name__)!r}: give it "
                "bighub_client=BighubClient(base_url=..., api_key=...)")
        approval_id = ctx.get("approval_id") or ctx.get("request_id")
        if not approval_id:
            return _not_approved("the control plane named no approval request for this call, so no reviewer can "
                                 "decide it")
        logger.info("waiting up to %g s for a reviewer to decide %s on approval request %s%s", self.timeout,
                    ctx.get("tool"), approval_id, f" ({ctx['approval_url']})" if ctx.get("approval_url") else "")
        poller = open_poller()
        wait = _Wait(self, str(approval_id))
        if inspect.iscoroutinefunction(poller.get):
            return wait.run_async(poller)
        return wait.run_sync(poller)


def wait_for_reviewer(
    *,
    timeout: float = 600.0,
    poll_seconds: int = 25,
    retry_backoff_seconds: float = 0.5,
    retry_max_backoff_seconds: float = 5.0,
) -> WaitForReviewer:
    """An `on_approval_required` callback that waits up to `timeout` s for a reviewer's decision per paused call.

    Each request asks the control plane to hold the answer up to `poll_seconds` (whole seconds); failed
    requests are retried after `retry_backoff_seconds`, doubling up to `retry_max_backoff_seconds`.
    Works with `GuardedOpenAI` and `AsyncGuardedOpenAI` whose decisions come from a BIGHUB client.
    """
    return WaitForReviewer(timeout=timeout, poll_seconds=poll_seconds, retry_backoff_seconds=retry_backoff_seconds,
                           retry_max_backoff_seconds=retry_max_backoff_seconds)


def _not_approved(reason: str, approval: dict[str, Any] | None = None) -> dict[str, Any]:
    # "expired": the runner sends no resolution for it, and the model is told `reason`.
    return {"resolution": "expired", "comment": reason, "approval": approval}


@dataclass
class _Wait:
    """One wait for one approval request: how long each request may be held, when to back off, when to stop.

    `answered` and `failed` return the answer when the wait is over, else the seconds to pause before
    asking again; both drivers (`run_sync`, `run_async`) only carry that out.
    """

    config: WaitForReviewer
    approval_id: str
    deadline: float = 0.0
    failures: int = 0
    last_error: ApprovalReadError | None = None
    last_item: dict[str, Any] | None = None
    sent_at: float = 0.0

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.config.timeout

    def next_wait(self) -> int | None:
        """Seconds the next request asks the server to hold it, or None once the time is up."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            return None
        self.sent_at = time.monotonic()
        return max(1, min(self.config.poll_seconds, math.ceil(remaining)))

    def answered(self, item: dict[str, Any]) -> dict[str, Any] | float:
        self.failures, self.last_error, self.last_item = 0, None, item
        status = item["status"].strip().lower()
        if status == "pending":
            return max(0.0, MIN_REQUEST_INTERVAL_SECONDS - (time.monotonic() - self.sent_at))
        resolution = _RESOLUTIONS.get(status)
        comment = str(item.get("comment") or "")
        if resolution is None:
            return _not_approved(f"the approval request is {status!r} at the control plane, not approved", item)
        if resolution == "expired":
            comment = comment or "the approval request expired before a reviewer decided"
        return {"resolution": resolution, "comment": comment, "approval": item}

    def failed(self, error: ApprovalReadError) -> dict[str, Any] | float:
        self.last_error = error
        if not error.transient:
            return _not_approved(f"could not learn the reviewer's decision: {error}", self.last_item)
        self.failures += 1
        delay = min(self.config.retry_max_backoff_seconds, self.config.retry_backoff_seconds * 2 ** (self.failures - 1))
        delay = max(delay, error.retry_after_seconds or 0.0)
        logger.warning("approval request %s: %s; asking again in %.1f s", self.approval_id, error, delay)
        return min(delay, max(0.0, self.deadline - time.monotonic()))

    def timed_out(self) -> dict[str, Any]:
        if self.last_error is not None:
            return _not_approved(f"no decision could be read from the control plane within {self.config.timeout:g} s "
                                 f"(last error: {self.last_error})", self.last_item)
        return _not_approved(f"no reviewer decided within {self.config.timeout:g} s", self.last_item)

    def run_sync(self, poller: Any) -> dict[str, Any]:
        with poller:
            while (seconds := self.next_wait()) is not None:
                try:
                    step = self.answered(poller.get(self.approval_id, wait_seconds=seconds))
                except ApprovalReadError as exc:
                    step = self.failed(exc)
                if isinstance(step, dict):
                    return step
                if step:
                    time.sleep(step)
        return self.timed_out()

    async def run_async(self, poller: Any) -> dict[str, Any]:
        async with poller:
            while (seconds := self.next_wait()) is not None:
                try:
                    step = self.answered(await poller.get(self.approval_id, wait_seconds=seconds))
                except ApprovalReadError as exc:
                    step = self.failed(exc)
                if isinstance(step, dict):
                    return step
                if step:
                    await asyncio.sleep(step)
        return self.timed_out()
