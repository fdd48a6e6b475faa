"""`GuardedOpenAI` and `AsyncGuardedOpenAI`: the public API of the guarded runner.

Same names and shapes as the published `bighub-openai` adapter (see the seed page): register
tools, then `run`, `run_stream`, `check_tool`, `run_with_approval`, `resume_after_approval`.
Decisions come from the BIGHUB control plane when a BIGHUB key or client is given, otherwise from
the embedded Cedar policy engine. Model calls go through the official `openai` SDK; with no
OpenAI key or client, through the offline Responses API emulator (a scripted demo model).

Durable callers (the dashboard's run tasks) use the lower-level trio `start`, `advance` and
`resolve`, which take and return a `RunState` and never raise for provider failures.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from governance.decisions import ActionRequest, Decision

from .drivers import DriverContext, drive_async, drive_sync
from .errors import AdapterConfigurationError
from .loop import Failed, LoopConfig, _action_for, _fail_mode_decision, drive, resolve
from .payloads import approval_context, approval_loop, approval_round, normalise_callback_answer, run_payload
from .resilience import CircuitBreaker, ProviderResilience
from .state import RunState
from .tools import DECISION_MODES, ToolRegistry

logger = logging.getLogger("governance.guard")

SOURCE_VERSION = "governance-dashboard@0.1.0"
FAIL_MODES = ("closed", "open")


class _GuardBase:
    """Configuration, tool registration and silent checks shared by both clients."""

    _async = False

    def __init__(
        self,
        *,
        openai_api_key: str | None = None,
        bighub_api_key: str | None = None,
        actor: str = "AI_AGENT",
        domain: str = "default",
        decision_mode: str = "submit",
        on_decision: Callable[[dict[str, Any]], Any] | None = None,
        memory_enabled: bool = True,
        memory_source: str = "openai_adapter",
        memory_ingest_timeout_ms: int = 300,
        fail_mode: str = "closed",
        max_tool_rounds: int = 8,
        openai_client: Any = None,
        bighub_client: Any = None,
        bighub_base_url: str | None = None,
        decision_backend: Any = None,
        policies: list[Any] | None = None,
        provider_timeout_seconds: float = 30.0,
        provider_max_retries: int = 2,
        provider_retry_backoff_seconds: float = 0.25,
        provider_retry_max_backoff_seconds: float = 2.0,
        provider_retry_jitter_seconds: float = 0.1,
        provider_circuit_breaker_failures: int = 0,
        provider_circuit_breaker_reset_seconds: float = 30.0,
        rng: random.Random | None = None,
    ) -> None:
        if decision_mode not in DECISION_MODES:
            raise AdapterConfigurationError(f"decision_mode must be one of {DECISION_MODES}, got {decision_mode!r}")
        if fail_mode not in FAIL_MODES:
            raise AdapterConfigurationError(f"fail_mode must be one of {FAIL_MODES}, got {fail_mode!r}")
        if max_tool_rounds < 1:
            raise AdapterConfigurationError("max_tool_rounds must be at least 1")
        self.actor = actor
        self.domain = domain
        self.decision_mode = decision_mode
        self.fail_mode = fail_mode
        self.max_tool_rounds = max_tool_rounds
        self.on_decision = on_decision
        self.memory_enabled = memory_enabled
        self.memory_source = memory_source
        self.memory_ingest_timeout_ms = max(1, int(memory_ingest_timeout_ms))
        self.resilience = ProviderResilience(
            timeout_seconds=provider_timeout_seconds,
            max_retries=provider_max_retries,
            retry_backoff_seconds=provider_retry_backoff_seconds,
            retry_max_backoff_seconds=provider_retry_max_backoff_seconds,
            retry_jitter_seconds=provider_retry_jitter_seconds,
            circuit_breaker_failures=provider_circuit_breaker_failures,
            circuit_breaker_reset_seconds=provider_circuit_breaker_reset_seconds,
        )
        self._breaker = CircuitBreaker(
            failures=self.resilience.circuit_breaker_failures,
            reset_seconds=self.resilience.circuit_breaker_reset_seconds,
        )
        self._rng = rng or random.Random()
        self._registry = ToolRegistry()
        self._openai = openai_client or self._default_openai_client(openai_api_key)
        self.backend = decision_backend or self._default_backend(
            bighub_client, bighub_api_key, bighub_base_url, policies
        )

    # -- construction helpers ---------------------------------------------------------------

    def _default_openai_client(self, api_key: str | None) -> Any:
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if key:
            import openai  # noqa: PLC0415 -- the SDK loads only when no client is passed

            return (openai.AsyncOpenAI if self._async else openai.OpenAI)(api_key=key, max_retries=0)
        from governance.emulator import (  # noqa: PLC0415 -- the offline emulator only when no key is given
            make_async_openai_client,
            make_openai_client,
        )

        logger.info("no OpenAI key: using the offline Responses API emulator (demo model)")
        return make_async_openai_client() if self._async else make_openai_client()

    def _default_backend(self, bighub_client: Any, bighub_api_key: str | None, base_url: str | None,
                         policies: list[Any] | None) -> Any:
        if bighub_client is not None or bighub_api_key:
            from governance.backends.bighub import (  # noqa: PLC0415 -- only with a BIGHUB key or client
                AsyncBighubBackend,
                BighubBackend,
            )

            if bighub_client is None:
                import bighub  # noqa: PLC0415 -- the BIGHUB SDK only when no client is passed

                kwargs = {"api_key": bighub_api_key, **({"base_url": base_url} if base_url else {})}
                bighub_client = (bighub.AsyncBighubClient if self._async else bighub.BighubClient)(**kwargs)
            return (AsyncBighubBackend if self._async else BighubBackend)(bighub_client)
        from governance.policy import (  # noqa: PLC0415 -- cedarpy loads only when no BIGHUB backend is used
            AsyncEmbeddedPolicyEngine,
            EmbeddedPolicyEngine,
        )

        return (AsyncEmbeddedPolicyEngine if self._async else EmbeddedPolicyEngine)(policies or [])

    # -- tools ------------------------------------------------------------------------------

    def register_tool(self, name: str, fn: Callable[..., Any], **options: Any) -> None:
        """Register `fn` as tool `name`; its strict JSON schema is generated from the signature."""
        self._registry.register(name, fn, **options)

    def tool(self, name: str, fn: Callable[..., Any], **options: Any) -> None:
        """Alias of `register_tool`, to keep integrations terse."""
        self.register_tool(name, fn, **options)

    def list_tools(self) -> list[dict[str, Any]]:
        """The registered tools in the Responses API's flat function-tool format."""
        return self._registry.openai_tools()

    @property
    def registry(self) -> ToolRegistry:
        return self._registry

    # -- run plumbing -----------------------------------------------------------------------

    def _loop_config(self) -> LoopConfig:
        return LoopConfig(
            registry=self._registry,
            actor=self.actor,
            domain=self.domain,
            decision_mode=self.decision_mode,
            fail_mode=self.fail_mode,
            max_tool_rounds=self.max_tool_rounds,
            source_version=SOURCE_VERSION,
            memory_enabled=self.memory_enabled,
        )

    def _context(self, executor: Callable[[Any, str, dict[str, Any]], Any] | None = None) -> DriverContext:
        return DriverContext(
            executor=executor,
            openai_client=self._openai,
            backend=self.backend,
            registry=self._registry,
            resilience=self.resilience,
            breaker=self._breaker,
            on_decision=self.on_decision,
            memory_source=self.memory_source,
            memory_timeout_seconds=self.memory_ingest_timeout_ms / 1000,
            rng=self._rng,
        )

    def start(
        self,
        *,
        messages: list[dict[str, Any]],
        model: str,
        instructions: str | None = None,
        temperature: float | None = None,
        extra_create_args: dict[str, Any] | None = None,
    ) -> RunState:
        """A fresh `RunState`; `store=false` unless `extra_create_args` says otherwise."""
        if not self._registry.names():
            raise AdapterConfigurationError("register at least one tool before running")
        if not isinstance(messages, list) or not messages:
            raise AdapterConfigurationError("messages must be a non-empty list of input items")
        create_args = dict(extra_create_args or {})
        store = bool(create_args.pop("store", False))
        if instructions:
            create_args["instructions"] = instructions
        if temperature is not None:
            create_args["temperature"] = temperature
        return RunState.start(
            messages=messages, model=model, store=store, create_args=create_args, source_version=SOURCE_VERSION
        )

    def _action(self, name: str, arguments: dict[str, Any]) -> ActionRequest:
        if name not in self._registry:
            raise AdapterConfigurationError(f"unknown tool {name!r}: registered tools are {self._registry.names()}")
        return _action_for(self._registry.get(name), self._loop_config(), arguments, "check_tool", "check_tool")

    def recheck_tool(self, name: str, arguments: dict[str, Any]) -> Decision:
        """The decision an approved call gets when it is re-checked just before it runs (the backend's
        dry run where it has one, so nothing is recorded), with the fail mode applied. The dashboard
        decides a reviewer's edited call with it."""
        action = self._action(name, arguments)
        try:
            return (getattr(self.backend, "recheck", None) or self.backend.evaluate)(action)
        except Exception as exc:
            return _fail_mode_decision(self.fail_mode, Failed(exc))

    @staticmethod
    def _check_payload(name: str, arguments: dict[str, Any], decision: Decision) -> dict[str, Any]:
        status = {"allowed": "allowed", "blocked": "blocked", "requires_approval": "approval_required"}
        return {
            "tool": name,
            "arguments": arguments,
            "status": status[decision.outcome],
            "allowed": decision.allowed,
            "requires_approval": decision.requires_approval,
            "decision": decision.to_dict(),
            "request_id": decision.request_id,
            "reason": decision.reason,
        }

    @staticmethod
    def _coerce_state(run_state: RunState | dict[str, Any]) -> RunState:
        if isinstance(run_state, RunState):
            return run_state
        if isinstance(run_state, dict) and "run_state" in run_state:
            return RunState.from_dict(run_state["run_state"])
        return RunState.from_dict(run_state)

    def _fail_mode_check(self, name: str, arguments: dict[str, Any], exc: Exception) -> dict[str, Any]:
        return self._check_payload(name, arguments, _fail_mode_decision(self.fail_mode, Failed(exc)))

    def _callback_context(self, context: dict[str, Any]) -> dict[str, Any]:
        # The backend rides along so a callback can ask the control plane (wait_for_reviewer does);
        # it stays out of the JSON record of the loop.
        return {**context, "backend": self.backend}


class GuardedOpenAI(_GuardBase):
    """Blocking guarded runner around `openai.OpenAI`."""

    def advance(self, state: RunState, *, stream: bool = False, executor: Any = None) -> Iterator[dict[str, Any]]:
        """Drive `state` until it completes, fails or pauses; yields the adapter stream events.

        `executor(spec, call_id, arguments)`, when given, runs each allowed tool call instead of
        calling the tool directly (the dashboard uses it to claim each call exactly once).
        """
        yield from drive_sync(drive(state, self._loop_config()), self._context(executor), stream=stream)

    def resolve(self, state: RunState, *, key: str, resolution: str, comment: str = "",
                stream: bool = False, executor: Any = None, arguments: dict[str, Any] | None = None,
                note: str = "") -> Iterator[dict[str, Any]]:
        """Settle one paused call (by call id, request id or event id), then drive on. `arguments` and
        `note`: an approval of the call with the arguments a reviewer edited (see `loop.resolve`)."""
        loop = resolve(state, self._loop_config(), key=key, resolution=resolution, comment=comment,
                       arguments=arguments, note=note)
        yield from drive_sync(loop, self._context(executor), stream=stream)

    def run(self, *, messages: list[dict[str, Any]], model: str, **options: Any) -> dict[str, Any]:
        state = self.start(messages=messages, model=model, **options)
        return self._finish(state, drive(state, self._loop_config()))

    def run_stream(self, *, messages: list[dict[str, Any]], model: str, **options: Any) -> Iterator[dict[str, Any]]:
        state = self.start(messages=messages, model=model, **options)
        ctx = self._context()
        yield from drive_sync(drive(state, self._loop_config()), ctx, stream=True)
        self._raise_if_provider_failed(state, ctx)
        yield {"type": "final_response", "response": run_payload(state)}

    def check_tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Silent mode: the decision for this call, without running anything."""
        action = self._action(name, arguments)
        try:
            decision = self.backend.evaluate(action)
        except Exception as exc:
            return self._fail_mode_check(name, arguments, exc)
        return self._check_payload(name, arguments, decision)

    def resume_after_approval(
        self,
        run_state: RunState | dict[str, Any],
        *,
        approval_id: str | None = None,
        call_id: str | None = None,
        resolution: str = "approved",
        comment: str = "",
    ) -> dict[str, Any]:
        """Resolve one approval request, run (or refuse) the call, and continue the run."""
        state = self._coerce_state(run_state)
        key = call_id or approval_id or (state.pending[0].call_id if state.pending else "")
        return self._finish(state, resolve(state, self._loop_config(), key=key, resolution=resolution, comment=comment))

    def run_with_approval(
        self,
        *,
        messages: list[dict[str, Any]],
        model: str,
        on_approval_required: Callable[[dict[str, Any]], Any] | None = None,
        max_approval_rounds: int = 10,
        **options: Any,
    ) -> dict[str, Any]:
        """Run; each paused call is put to `on_approval_required(ctx)` and the run resumed with its answer.

        `ctx` is `approval_context(...)` plus `backend`, the guard's decision backend. The callback
        answers `{"resolution": "approved"|"rejected", "comment": ...}`, a bool, or None (leave the
        call pending and return); the resolution is then recorded with the backend, unless the answer
        carries `approval`, the control plane's own approval item (a reviewer decided there:
        `wait_for_reviewer`). `result["approval_loop"]` is described in `payloads.approval_loop`.
        """
        state = self.start(messages=messages, model=model, **options)
        ctx = self._context()
        rounds: list[dict[str, Any]] = []
        self._consume(drive_sync(drive(state, self._loop_config()), ctx, stream=False))
        while state.status == "approval_required" and on_approval_required and len(rounds) < max_approval_rounds:
            context = approval_context(state, 0)
            resolution, comment, approval = normalise_callback_answer(
                on_approval_required(self._callback_context(context)))
            if not resolution:
                break
            ctx.last_approval_reply = None
            loop = resolve(state, self._loop_config(), key=context["call_id"], resolution=resolution,
                           comment=comment, recorded=approval is not None)
            self._consume(drive_sync(loop, ctx, stream=False))
            rounds.append(approval_round(state, context, resolution, comment,
                                         ctx.last_approval_reply if approval is None else approval))
        self._raise_if_provider_failed(state, ctx)
        payload = run_payload(state)
        payload["approval_loop"] = approval_loop(state, rounds)
        return payload

    def close(self) -> None:
        for client in (self._openai, getattr(self.backend, "client", None)):
            close = getattr(client, "close", None)
            if callable(close):
                close()

    def __enter__(self) -> GuardedOpenAI:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------

    @staticmethod
    def _consume(events: Iterator[dict[str, Any]]) -> None:
        for _ in events:
            pass

    def _finish(self, state: RunState, loop: Any) -> dict[str, Any]:
        """Drive `loop` to its end; a provider failure is raised as the SDK's own exception."""
        ctx = self._context()
        self._consume(drive_sync(loop, ctx, stream=False))
        self._raise_if_provider_failed(state, ctx)
        return run_payload(state)

    @staticmethod
    def _raise_if_provider_failed(state: RunState, ctx: DriverContext) -> None:
        if state.status == "failed" and ctx.last_provider_error is not None:
            raise ctx.last_provider_error


class AsyncGuardedOpenAI(_GuardBase):
    """Asyncio guarded runner around `openai.AsyncOpenAI`."""

    _async = True

    async def advance(self, state: RunState, *, stream: bool = False) -> AsyncIterator[dict[str, Any]]:
        async for event in drive_async(drive(state, self._loop_config()), self._context(), stream=stream):
            yield event

    async def resolve(self, state: RunState, *, key: str, resolution: str, comment: str = "",
                      stream: bool = False) -> AsyncIterator[dict[str, Any]]:
        loop = resolve(state, self._loop_config(), key=key, resolution=resolution, comment=comment)
        async for event in drive_async(loop, self._context(), stream=stream):
            yield event

    async def run(self, *, messages: list[dict[str, Any]], model: str, **options: Any) -> dict[str, Any]:
        state = self.start(messages=messages, model=model, **options)
        ctx = self._context()
        await self._consume(drive_async(drive(state, self._loop_config()), ctx, stream=False))
        GuardedOpenAI._raise_if_provider_failed(state, ctx)
        return run_payload(state)

    async def run_stream(self, *, messages: list[dict[str, Any]], model: str,
                         **options: Any) -> AsyncIterator[dict[str, Any]]:
        state = self.start(messages=messages, model=model, **options)
        ctx = self._context()
        async for event in drive_async(drive(state, self._loop_config()), ctx, stream=True):
            yield event
        GuardedOpenAI._raise_if_provider_failed(state, ctx)
        yield {"type": "final_response", "response": run_payload(state)}

    async def check_tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        action = self._action(name, arguments)
        try:
            decision = await self.backend.evaluate(action)
        except Exception as exc:
            return self._fail_mode_check(name, arguments, exc)
        return self._check_payload(name, arguments, decision)

    async def resume_after_approval(
        self,
        run_state: RunState | dict[str, Any],
        *,
        approval_id: str | None = None,
        call_id: str | None = None,
        resolution: str = "approved",
        comment: str = "",
    ) -> dict[str, Any]:
        state = self._coerce_state(run_state)
        key = call_id or approval_id or (state.pending[0].call_id if state.pending else "")
        ctx = self._context()
        loop = resolve(state, self._loop_config(), key=key, resolution=resolution, comment=comment)
        await self._consume(drive_async(loop, ctx, stream=False))
        GuardedOpenAI._raise_if_provider_failed(state, ctx)
        return run_payload(state)

    async def run_with_approval(
        self,
        *,
        messages: list[dict[str, Any]],
        model: str,
        on_approval_required: Callable[[dict[str, Any]], Any] | None = None,
        max_approval_rounds: int = 10,
        **options: Any,
    ) -> dict[str, Any]:
        """As `GuardedOpenAI.run_with_approval`; the callback may be a coroutine function."""
        state = self.start(messages=messages, model=model, **options)
        ctx = self._context()
        rounds: list[dict[str, Any]] = []
        await self._consume(drive_async(drive(state, self._loop_config()), ctx, stream=False))
        while state.status == "approval_required" and on_approval_required and len(rounds) < max_approval_rounds:
            context = approval_context(state, 0)
            answer = on_approval_required(self._callback_context(context))
            if hasattr(answer, "__await__"):
                answer = await answer
            resolution, comment, approval = normalise_callback_answer(answer)
            if not resolution:
                break
            ctx.last_approval_reply = None
            loop = resolve(state, self._loop_config(), key=context["call_id"], resolution=resolution,
                           comment=comment, recorded=approval is not None)
            await self._consume(drive_async(loop, ctx, stream=False))
            rounds.append(approval_round(state, context, resolution, comment,
                                         ctx.last_approval_reply if approval is None else approval))
        GuardedOpenAI._raise_if_provider_failed(state, ctx)
        payload = run_payload(state)
        payload["approval_loop"] = approval_loop(state, rounds)
        return payload

    async def close(self) -> None:
        for client in (self._openai, getattr(self.backend, "client", None)):
            close = getattr(client, "close", None)
            if callable(close):
                result = close()
                if hasattr(result, "__await__"):
                    await result

    async def __aenter__(self) -> AsyncGuardedOpenAI:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    @staticmethod
    async def _consume(events: AsyncIterator[dict[str, Any]]) -> None:
        async for _ in events:
            pass

