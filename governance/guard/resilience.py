"""Provider resilience: retries with bounded backoff and a circuit breaker around model calls.

The knobs are those of the published adapter (`provider_timeout_seconds`, `provider_max_retries`,
`provider_retry_backoff_seconds`, `provider_retry_max_backoff_seconds`,
`provider_retry_jitter_seconds`, `provider_circuit_breaker_failures`,
`provider_circuit_breaker_reset_seconds`), held by `ProviderResilience`.

Policy, written once in `_Attempts` and shared by `call_with_resilience` (blocking) and
`acall_with_resilience` (asyncio), which differ only in how they call and sleep:

- only transient OpenAI errors are retried (`is_transient`: `APIConnectionError`, which includes
  `APITimeoutError`, and `RateLimitError`), at most `max_retries` times, sleeping
  `backoff_delay(attempt)` = min(max_backoff, backoff * 2**attempt) + uniform(0, jitter) between
  attempts, so never more than max_backoff + jitter;
- any other error is raised at once;
- each transient failure counts for the circuit breaker; once it opens, calls fail fast with
  `ProviderCircuitOpenError` without reaching the provider, and the retry loop stops;
- after `circuit_breaker_reset_seconds` the breaker is half-open: one trial call goes through,
  success closes it, a transient failure opens it again. A trial that ends with a non-transient
  error or is cancelled is no evidence either way: the next call becomes the trial.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from .errors import AdapterConfigurationError, ProviderCircuitOpenError

__all__ = [
    "CircuitBreaker",
    "ProviderResilience",
    "acall_with_resilience",
    "call_with_resilience",
    "is_transient",
]

T = TypeVar("T")
BreakerState = Literal["closed", "open", "half_open"]

_DEFAULT_RNG = random.Random()
_MAX_EXPONENT = 62  # 2**62 * any sane backoff is far above any max backoff; avoids float overflow


@dataclass(frozen=True)
class ProviderResilience:
    """How model calls are retried and when the provider circuit opens. `timeout_seconds=None`: no timeout."""

    timeout_seconds: float | None = 30.0
    max_retries: int = 2
    retry_backoff_seconds: float = 0.25
    retry_max_backoff_seconds: float = 2.0
    retry_jitter_seconds: float = 0.1
    circuit_breaker_failures: int = 0  # 0 disables the breaker
    circuit_breaker_reset_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.timeout_seconds is not None:
            _require(self.timeout_seconds, "timeout_seconds", positive=True)
        _require(self.max_retries, "max_retries", integer=True)
        _require(self.retry_backoff_seconds, "retry_backoff_seconds")
        _require(self.retry_max_backoff_seconds, "retry_max_backoff_seconds")
        _require(self.retry_jitter_seconds, "retry_jitter_seconds")
        _require(self.circuit_breaker_failures, "circuit_breaker_failures", integer=True)
        _require(self.circuit_breaker_reset_seconds, "circuit_breaker_reset_seconds")

    def backoff_delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to sleep before retry number `attempt + 1` (attempt counts from 0)."""
        exponential = self.retry_backoff_seconds * 2.0 ** min(max(attempt, 0), _MAX_EXPONENT)
        return min(self.retry_max_backoff_seconds, exponential) + rng.uniform(0.0, self.retry_jitter_seconds)


def _require(value: Any, name: str, *, integer: bool = False, positive: bool = False) -> None:
    kind = "integer" if integer else "number"
    valid_type = isinstance(value, int) if integer else isinstance(value, int | float)
    in_range = valid_type and math.isfinite(value) and (value > 0 if positive else value >= 0)
    if isinstance(value, bool) or not in_range:
        bound = "> 0" if positive else ">= 0"
        raise AdapterConfigurationError(
            f"provider resilience: {name} must be a finite {kind} {bound}, got {value!r}"
        )


def is_transient(exc: BaseException) -> bool:
    """True for the OpenAI errors worth retrying: connection errors (timeouts included), rate limits."""
    import openai  # noqa: PLC0415 -- the guard package must not pay for the SDK until a call fails

    return isinstance(exc, openai.APIConnectionError | openai.RateLimitError)


class CircuitBreaker:
    """Consecutive transient failures open the circuit; after `reset_seconds` one trial call may pass.

    `failures=0` disables it (every call passes). Thread-safe; the asyncio driver uses it from one
    thread, where concurrent calls in the half-open state see the trial in progress and fail fast.
    """

    def __init__(
        self, failures: int, reset_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        _require(failures, "circuit_breaker_failures", integer=True)
        _require(reset_seconds, "circuit_breaker_reset_seconds")
        self.failures = failures
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._state: BreakerState = "closed"
        self._consecutive = 0
        self._opened_at = 0.0
        self._trial_in_progress = False

    @property
    def enabled(self) -> bool:
        return self.failures > 0

    @property
    def state(self) -> BreakerState:
        """"closed", "open" or "half_open" (an open circuit turns half-open at the next `before_call`)."""
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._consecutive

    def before_call(self) -> None:
        """Raise `ProviderCircuitOpenError` if the call must not be attempted now."""
        if not self.enabled:
            return
        with self._lock:
            if self._state == "open":
                remaining = self._opened_at + self.reset_seconds - self._clock()
                if remaining > 0:
                    raise ProviderCircuitOpenError(
                        f"provider circuit open after {self._consecutive} consecutive transient failures; "
                        f"next trial call in {remaining:.1f}s"
                    )
                self._state = "half_open"
            if self._state == "half_open":
                if self._trial_in_progress:
                    raise ProviderCircuitOpenError("provider circuit half-open: a trial call is in progress")
                self._trial_in_progress = True

    def record_success(self) -> None:
        with self._lock:
            self._state = "closed"
            self._consecutive = 0
            self._trial_in_progress = False

    def record_failure(self) -> None:
        """Count one transient failure; opens the circuit at the threshold, or re-opens a half-open one."""
        if not self.enabled:
            return
        with self._lock:
            self._consecutive += 1
            self._trial_in_progress = False
            if self._state == "half_open" or self._consecutive >= self.failures:
                self._state = "open"
                self._opened_at = self._clock()

    def release(self) -> None:
        """The call ended without telling whether the provider is healthy (non-transient error, cancel)."""
        with self._lock:
            self._trial_in_progress = False

    @property
    def is_open(self) -> bool:
        return self._state == "open"


class _Attempts:
    """The retry/breaker policy for one resilient call, stepped through by either driver."""

    def __init__(
        self, resilience: ProviderResilience, breaker: CircuitBreaker, rng: random.Random | None
    ) -> None:
        self.resilience = resilience
        self.breaker = breaker
        self.rng = rng or _DEFAULT_RNG
        self.attempt = 0

    def begin(self) -> None:
        self.breaker.before_call()

    def succeeded(self) -> None:
        self.breaker.record_success()

    def failed(self, exc: Exception) -> float | None:
        """Seconds to wait before the next attempt, or None to give up and re-raise `exc`."""
        if not is_transient(exc):
            self.breaker.release()
            return None
        self.breaker.record_failure()
        if self.attempt >= self.resilience.max_retries or self.breaker.is_open:
            return None
        delay = self.resilience.backoff_delay(self.attempt, self.rng)
        self.attempt += 1
        return delay

    def aborted(self) -> None:
        self.breaker.release()


def call_with_resilience(
    fn: Callable[[], T],
    resilience: ProviderResilience,
    breaker: CircuitBreaker,
    *,
    sleep: Callable[[float], Any] = time.sleep,
    rng: random.Random | None = None,
) -> T:
    """Call `fn()` under the retry and circuit-breaker policy; re-raises the final error."""
    attempts = _Attempts(resilience, breaker, rng)
    while True:
        attempts.begin()
        try:
            result = fn()
        except Exception as exc:
            delay = attempts.failed(exc)
            if delay is None:
                raise
            sleep(delay)
            continue
        except BaseException:
            attempts.aborted()
            raise
        attempts.succeeded()
        return result


async def acall_with_resilience(
    fn: Callable[[], Awaitable[T] | T],
    resilience: ProviderResilience,
    breaker: CircuitBreaker,
    *,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    rng: random.Random | None = None,
) -> T:
    """The asyncio twin of `call_with_resilience`: `fn()` may return an awaitable, which is awaited."""
    attempts = _Attempts(resilience, breaker, rng)
    while True:
        attempts.begin()
        try:
            result = fn()
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:
            delay = attempts.failed(exc)
            if delay is None:
                raise
            await sleep(delay)
            continue
        except BaseException:  # cancelled: the trial slot, if held, must not stay taken
            attempts.aborted()
            raise
        attempts.succeeded()
        return result  # type: ignore[return-value]
