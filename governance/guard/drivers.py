"""The two drivers that carry out the loop's effects: one blocking, one asyncio.

Both are generators of adapter stream events (`llm_delta`, `execution_event`, ...): `run_stream`
hands them to the caller, `run` consumes them and keeps only the final state. Each effect's
failure is caught and answered with `Failed`, so what a failure means stays in `loop.py`.
Hooks and telemetry (`on_decision`, outcome reports, memory ingest) never break a run.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from governance.decisions import AsyncDecisionBackend, DecisionBackend

from .errors import ProviderResponseError
from .loop import (
    CallModel,
    Decide,
    Emit,
    Failed,
    IngestMemory,
    Invoke,
    Loop,
    ReportOutcome,
    ResolveApproval,
)
from .resilience import CircuitBreaker, ProviderResilience, acall_with_resilience, call_with_resilience
from .stream_events import map_stream_event, response_to_dict
from .tools import ToolRegistry

logger = logging.getLogger("governance.guard")

# Request fields passed to the SDK as the JSON body they already are (see `sdk_arguments`).
_SENT_AS_JSON = ("input", "tools")

# Memory ingest is telemetry: it runs beside the run, and a slow backend only costs its timeout.
_INGEST_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="memory-ingest")


@dataclass
class DriverContext:
    """What a driver needs besides the loop: the clients, the tools and the hooks."""

    openai_client: Any
    backend: Any
    registry: ToolRegistry
    resilience: ProviderResilience
    breaker: CircuitBreaker
    on_decision: Callable[[dict[str, Any]], Any] | None
    memory_source: str
    memory_timeout_seconds: float
    rng: random.Random = field(default_factory=random.Random)
    # Durable callers wrap tool execution (e.g. to claim the call so it runs at most once):
    # executor(spec, call_id, arguments) returns the tool's output or raises.
    executor: Callable[[Any, str, dict[str, Any]], Any] | None = None
    last_provider_error: BaseException | None = None
    # What the backend answered the last resolution it recorded (BIGHUB: the approval item).
    last_approval_reply: Any = None

    def invoke(self, effect: Invoke) -> Any:
        spec = self.registry.get(effect.tool)
        if self.executor is not None:
            return self.executor(spec, effect.call_id, effect.arguments)
        return spec.invoke(effect.arguments, call_id=effect.call_id)

    async def ainvoke(self, effect: Invoke) -> Any:
        spec = self.registry.get(effect.tool)
        if self.executor is not None:
            result = self.executor(spec, effect.call_id, effect.arguments)
            return await result if hasattr(result, "__await__") else result
        return await spec.ainvoke(effect.arguments, call_id=effect.call_id)

    def notify(self, event: dict[str, Any]) -> None:
        if self.on_decision is None:
            return
        try:
            self.on_decision(event)
        except Exception:
            logger.warning("on_decision hook raised; ignored so the run goes on", exc_info=True)


class _StreamCollector:
    """Maps SDK stream events to adapter events and keeps what ends the turn (one rule, two drivers)."""

    def __init__(self, ctx: DriverContext) -> None:
        self.ctx = ctx
        self.final: Any = None
        self.failure: dict[str, Any] | None = None

    def feed(self, raw: Any) -> dict[str, Any] | None:
        mapped = map_stream_event(raw)
        if mapped is not None and mapped["type"] == "response_done":
            self.final = raw.response
        elif mapped is not None and mapped["type"] == "response_failed":
            self.failure = mapped
        return mapped

    def answer(self) -> dict[str, Any] | Failed:
        if self.failure is not None:
            error = self.failure.get("error") or {}
            reason = error.get("message") or error or "no reason given"
            answer: dict[str, Any] | Failed = Failed(ProviderResponseError(f"response failed: {reason}"))
        elif self.final is None:
            answer = Failed(ProviderResponseError("the stream ended without response.completed"))
        else:
            return response_to_dict(self.final)
        self.ctx.last_provider_error = answer.error
        return answer


# --- blocking ------------------------------------------------------------------------------


def drive_sync(loop: Loop, ctx: DriverContext, *, stream: bool) -> Iterator[dict[str, Any]]:
    answer: Any = None
    while True:
        try:
            effect = loop.send(answer)
        except StopIteration:
            return
        if isinstance(effect, CallModel):
            answer = yield from _call_model_sync(ctx, effect.request, stream)
        elif isinstance(effect, Emit):
            ctx.notify(effect.event)
            yield {"type": "execution_event", "event": effect.event}
            answer = None
        else:
            answer = _perform_sync(ctx, effect)


def sdk_arguments(request: dict[str, Any]) -> dict[str, Any]:
    """`responses.create` keyword arguments for a request, the conversation and the tools given in
    `extra_body`, the SDK's documented parameter for body fields sent as they are.

    Given as `input=`, the SDK walks every item against its TypedDict unions before sending the very
    same JSON (its types carry no alias or format for these fields): 43 ms for a 21-item conversation
    on the dev machine, about a sixth of a worker's time per run, against 1.7 ms for the rest of the
    request. The same slowness is known upstream in Stainless-built SDKs (anthropic-sdk-python#1195).
    The wire body is identical (tests/governance/guard/test_sdk_arguments.py).
    """
    arguments = {key: value for key, value in request.items() if key not in _SENT_AS_JSON}
    as_json = {key: request[key] for key in _SENT_AS_JSON if key in request}
    if as_json:
        arguments["extra_body"] = {**as_json, **(request.get("extra_body") or {})}
    return arguments


def _call_model_sync(ctx: DriverContext, request: dict[str, Any], stream: bool):
    create = ctx.openai_client.responses.create
    request = sdk_arguments(request)
    timeout = ctx.resilience.timeout_seconds
    try:
        if not stream:
            response = call_with_resilience(
                lambda: create(**request, timeout=timeout), ctx.resilience, ctx.breaker, rng=ctx.rng
            )
            return response_to_dict(response)
        events = call_with_resilience(
            lambda: create(**request, stream=True, timeout=timeout), ctx.resilience, ctx.breaker, rng=ctx.rng
        )
        collector = _StreamCollector(ctx)
        for raw in events:
            mapped = collector.feed(raw)
            if mapped is not None:
                yield mapped
        return collector.answer()
    except Exception as exc:
        ctx.last_provider_error = exc
        return Failed(exc)


def _decider(backend: Any, effect: Decide) -> Callable[[Any], Any]:
    """`backend.recheck` for the re-check of an approved call when the backend has one, else `evaluate`."""
    recheck = getattr(backend, "recheck", None) if effect.recheck else None
    return recheck or backend.evaluate


def _perform_sync(ctx: DriverContext, effect: Any) -> Any:
    backend: DecisionBackend = ctx.backend
    try:
        if isinstance(effect, Decide):
            return _decider(backend, effect)(effect.action)
        if isinstance(effect, ResolveApproval):
            ctx.last_approval_reply = backend.resolve_approval(
                effect.decision, resolution=effect.resolution, comment=effect.comment
            )
            return ctx.last_approval_reply
        if isinstance(effect, Invoke):
            return ctx.invoke(effect)
    except Exception as exc:
        return Failed(exc)
    if isinstance(effect, ReportOutcome):
        try:
            backend.report_outcome(effect.action, effect.decision, status=effect.status, output=effect.output)
        except Exception:
            logger.info("outcome report failed; ignored (best effort)", exc_info=True)
        return None
    if isinstance(effect, IngestMemory):
        future = _INGEST_POOL.submit(
            backend.ingest_memory, effect.events, source=ctx.memory_source, timeout_seconds=ctx.memory_timeout_seconds
        )
        try:
            future.result(timeout=ctx.memory_timeout_seconds)
        except Exception:
            logger.info("memory ingest failed or timed out; ignored (best effort)", exc_info=True)
        return None
    raise TypeError(f"unknown effect {effect!r}")


# --- asyncio -------------------------------------------------------------------------------


async def drive_async(loop: Loop, ctx: DriverContext, *, stream: bool) -> AsyncIterator[dict[str, Any]]:
    answer: Any = None
    while True:
        try:
            effect = loop.send(answer)
        except StopIteration:
            return
        if isinstance(effect, CallModel):
            answer = None
            async for item in _call_model_async(ctx, effect.request, stream):
                if isinstance(item, _Answer):
                    answer = item.value
                else:
                    yield item
        elif isinstance(effect, Emit):
            ctx.notify(effect.event)
            yield {"type": "execution_event", "event": effect.event}
            answer = None
        else:
            answer = await _perform_async(ctx, effect)


@dataclass(frozen=True)
class _Answer:
    """The model call's result, passed out of the async generator after its stream events."""

    value: Any


async def _call_model_async(ctx: DriverContext, request: dict[str, Any], stream: bool):
    create = ctx.openai_client.responses.create
    request = sdk_arguments(request)
    timeout = ctx.resilience.timeout_seconds
    try:
        if not stream:
            response = await acall_with_resilience(
                lambda: create(**request, timeout=timeout), ctx.resilience, ctx.breaker, rng=ctx.rng
            )
            yield _Answer(response_to_dict(response))
            return
        events = await acall_with_resilience(
            lambda: create(**request, stream=True, timeout=timeout), ctx.resilience, ctx.breaker, rng=ctx.rng
        )
        collector = _StreamCollector(ctx)
        async for raw in events:
            mapped = collector.feed(raw)
            if mapped is not None:
                yield mapped
        yield _Answer(collector.answer())
    except Exception as exc:
        ctx.last_provider_error = exc
        yield _Answer(Failed(exc))


async def _perform_async(ctx: DriverContext, effect: Any) -> Any:
    backend: AsyncDecisionBackend = ctx.backend
    try:
        if isinstance(effect, Decide):
            return await _decider(backend, effect)(effect.action)
        if isinstance(effect, ResolveApproval):
            ctx.last_approval_reply = await backend.resolve_approval(
                effect.decision, resolution=effect.resolution, comment=effect.comment
            )
            return ctx.last_approval_reply
        if isinstance(effect, Invoke):
            return await ctx.ainvoke(effect)
    except Exception as exc:
        return Failed(exc)
    if isinstance(effect, ReportOutcome):
        try:
            await backend.report_outcome(effect.action, effect.decision, status=effect.status, output=effect.output)
        except Exception:
            logger.info("outcome report failed; ignored (best effort)", exc_info=True)
        return None
    if isinstance(effect, IngestMemory):
        try:
            await asyncio.wait_for(
                backend.ingest_memory(
                    effect.events, source=ctx.memory_source, timeout_seconds=ctx.memory_timeout_seconds
                ),
                timeout=ctx.memory_timeout_seconds,
            )
        except Exception:
            logger.info("memory ingest failed or timed out; ignored (best effort)", exc_info=True)
        return None
    raise TypeError(f"unknown effect {effect!r}")
