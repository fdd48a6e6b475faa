"""Provider resilience: which errors are retried, bounded backoff, the circuit breaker, both drivers."""

import asyncio
import random

import httpx2
import openai
import pytest

from governance.guard.errors import AdapterConfigurationError, ProviderCircuitOpenError
from governance.guard.resilience import (
    CircuitBreaker,
    ProviderResilience,
    acall_with_resilience,
    call_with_resilience,
    is_transient,
)

URL = "https://api.openai.com/v1/responses"


def request() -> httpx2.Request:
    return httpx2.Request("POST", URL)


def status_error(cls: type[openai.APIStatusError], status: int) -> openai.APIStatusError:
    return cls(f"HTTP {status}", response=httpx2.Response(status, request=request()), body=None)


def rate_limit() -> openai.RateLimitError:
    return status_error(openai.RateLimitError, 429)


def connection_error() -> openai.APIConnectionError:
    return openai.APIConnectionError(request=request())


def timeout_error() -> openai.APITimeoutError:
    return openai.APITimeoutError(request=request())


def bad_request() -> openai.BadRequestError:
    return status_error(openai.BadRequestError, 400)


class MaxJitter(random.Random):
    """uniform(a, b) always returns b: the largest delay the policy can produce."""

    def uniform(self, a: float, b: float) -> float:
        return b


class NoJitter(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return a


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Script:
    """A provider call that raises the scripted errors in order, then returns "ok"."""

    def __init__(self, *outcomes: BaseException) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.outcomes:
            raise self.outcomes.pop(0)
        return "ok"


class AsyncScript(Script):
    async def __call__(self) -> str:  # type: ignore[override]
        await asyncio.sleep(0)
        return super().__call__()


RESILIENCE = ProviderResilience(
    max_retries=3,
    retry_backoff_seconds=0.2,
    retry_max_backoff_seconds=2.0,
    retry_jitter_seconds=0.15,
)


def no_breaker() -> CircuitBreaker:
    return CircuitBreaker(failures=0, reset_seconds=30)


# --- classification and backoff ------------------------------------------------------------


@pytest.mark.parametrize(
    ("make_error", "expected"),
    [
        (rate_limit, True),
        (connection_error, True),
        (timeout_error, True),
        (bad_request, False),
        (lambda: status_error(openai.AuthenticationError, 401), False),
        (lambda: status_error(openai.InternalServerError, 500), False),
        (lambda: ValueError("not an API error"), False),
    ],
)
def test_is_transient_only_connection_timeout_and_rate_limit(make_error, expected):
    assert is_transient(make_error()) is expected


def test_backoff_delay_doubles_then_caps_at_max_backoff():
    rng = NoJitter()

    delays = [RESILIENCE.backoff_delay(attempt, rng) for attempt in range(6)]

    assert delays == pytest.approx([0.2, 0.4, 0.8, 1.6, 2.0, 2.0])


def test_backoff_delay_adds_jitter_within_bounds():
    assert RESILIENCE.backoff_delay(0, MaxJitter()) == pytest.approx(0.35)
    assert RESILIENCE.backoff_delay(10_000, MaxJitter()) == pytest.approx(2.15)
    rng = random.Random(7)
    delays = [RESILIENCE.backoff_delay(attempt, rng) for attempt in range(200)]
    assert all(0.2 <= delay <= 2.0 + 0.15 for delay in delays)


@pytest.mark.parametrize(
    ("knob", "value"),
    [
        ("max_retries", -1),
        ("max_retries", 1.5),
        ("timeout_seconds", 0),
        ("retry_backoff_seconds", float("nan")),
        ("retry_jitter_seconds", -0.1),
        ("circuit_breaker_failures", True),
    ],
)
def test_provider_resilience_invalid_knob_raises(knob, value):
    with pytest.raises(AdapterConfigurationError, match=f"provider resilience: {knob} must be"):
        ProviderResilience(**{knob: value})


def test_provider_resilience_defaults_disable_breaker():
    assert ProviderResilience().circuit_breaker_failures == 0
    assert ProviderResilience(timeout_seconds=None).timeout_seconds is None


# --- the blocking driver ---------------------------------------------------------------------------


def test_call_with_resilience_retries_transient_errors_then_succeeds():
    call = Script(rate_limit(), connection_error(), timeout_error())
    sleeps: list[float] = []

    result = call_with_resilience(call, RESILIENCE, no_breaker(), sleep=sleeps.append, rng=NoJitter())

    assert result == "ok"
    assert call.calls == 4
    assert sleeps == pytest.approx([0.2, 0.4, 0.8])


def test_call_with_resilience_gives_up_after_max_retries():
    errors = [rate_limit() for _ in range(5)]
    call = Script(*errors)
    sleeps: list[float] = []

    with pytest.raises(openai.RateLimitError) as raised:
        call_with_resilience(call, RESILIENCE, no_breaker(), sleep=sleeps.append, rng=NoJitter())

    assert raised.value is errors[3]
    assert call.calls == 4
    assert len(sleeps) == 3


@pytest.mark.parametrize(
    "make_error",
    [bad_request, lambda: status_error(openai.AuthenticationError, 401), lambda: KeyError("bug")],
)
def test_call_with_resilience_non_retryable_fails_immediately(make_error):
    error = make_error()
    call = Script(error)
    sleeps: list[float] = []

    with pytest.raises(type(error)) as raised:
        call_with_resilience(call, RESILIENCE, no_breaker(), sleep=sleeps.append)

    assert raised.value is error
    assert call.calls == 1
    assert sleeps == []


def test_call_with_resilience_zero_retries_calls_once():
    call = Script(rate_limit())
    resilience = ProviderResilience(max_retries=0)

    with pytest.raises(openai.RateLimitError):
        call_with_resilience(call, resilience, no_breaker(), sleep=lambda s: None)

    assert call.calls == 1


# --- the circuit breaker ----------------------------------------------------------------------------


def test_breaker_opens_after_n_failures_and_fails_fast():
    clock = Clock()
    breaker = CircuitBreaker(failures=3, reset_seconds=30, clock=clock)
    resilience = ProviderResilience(max_retries=0, circuit_breaker_failures=3)
    for _ in range(3):
        with pytest.raises(openai.APIConnectionError):
            call_with_resilience(Script(connection_error()), resilience, breaker)
    call = Script()

    with pytest.raises(ProviderCircuitOpenError) as raised:
        call_with_resilience(call, resilience, breaker)

    assert call.calls == 0
    assert breaker.state == "open"
    assert str(raised.value) == (
        "provider circuit open after 3 consecutive transient failures; next trial call in 30.0s"
    )


def test_breaker_opening_stops_the_retry_loop():
    breaker = CircuitBreaker(failures=2, reset_seconds=30, clock=Clock())
    resilience = ProviderResilience(max_retries=5, circuit_breaker_failures=2)
    call = Script(*(rate_limit() for _ in range(5)))
    sleeps: list[float] = []

    with pytest.raises(openai.RateLimitError):
        call_with_resilience(call, resilience, breaker, sleep=sleeps.append)

    assert call.calls == 2
    assert len(sleeps) == 1
    assert breaker.state == "open"


def test_breaker_non_transient_errors_do_not_count():
    breaker = CircuitBreaker(failures=2, reset_seconds=30, clock=Clock())
    resilience = ProviderResilience(max_retries=0)

    for _ in range(5):
        with pytest.raises(openai.BadRequestError):
            call_with_resilience(Script(bad_request()), resilience, breaker)

    assert breaker.state == "closed"
    assert breaker.consecutive_failures == 0


def test_breaker_success_resets_consecutive_failures():
    breaker = CircuitBreaker(failures=3, reset_seconds=30, clock=Clock())

    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    breaker.record_failure()

    assert breaker.state == "closed"
    assert breaker.consecutive_failures == 2


def test_breaker_half_open_after_reset_time_and_success_closes():
    clock = Clock()
    breaker = CircuitBreaker(failures=1, reset_seconds=30, clock=clock)
    breaker.record_failure()
    clock.now += 29.5
    with pytest.raises(ProviderCircuitOpenError, match=r"next trial call in 0\.5s"):
        breaker.before_call()
    clock.now += 0.5
    call = Script()

    assert call_with_resilience(call, ProviderResilience(), breaker) == "ok"
    assert call.calls == 1
    assert breaker.state == "closed"


def test_breaker_half_open_allows_a_single_trial_call():
    clock = Clock()
    breaker = CircuitBreaker(failures=1, reset_seconds=30, clock=clock)
    breaker.record_failure()
    clock.now += 30

    breaker.before_call()

    assert breaker.state == "half_open"
    with pytest.raises(ProviderCircuitOpenError, match="half-open: a trial call is in progress"):
        breaker.before_call()


def test_breaker_half_open_trial_failure_reopens():
    clock = Clock()
    breaker = CircuitBreaker(failures=2, reset_seconds=30, clock=clock)
    resilience = ProviderResilience(max_retries=3, circuit_breaker_failures=2)
    breaker.record_failure()
    breaker.record_failure()
    clock.now += 30
    trial = Script(timeout_error(), timeout_error())

    with pytest.raises(openai.APITimeoutError):
        call_with_resilience(trial, resilience, breaker, sleep=lambda s: None)

    assert trial.calls == 1
    assert breaker.state == "open"
    clock.now += 29
    with pytest.raises(ProviderCircuitOpenError):
        breaker.before_call()
    clock.now += 1
    assert call_with_resilience(Script(), resilience, breaker) == "ok"
    assert breaker.state == "closed"


def test_breaker_half_open_trial_with_non_transient_error_frees_the_trial():
    clock = Clock()
    breaker = CircuitBreaker(failures=1, reset_seconds=30, clock=clock)
    breaker.record_failure()
    clock.now += 30

    with pytest.raises(openai.BadRequestError):
        call_with_resilience(Script(bad_request()), ProviderResilience(), breaker)

    assert breaker.state == "half_open"
    assert call_with_resilience(Script(), ProviderResilience(), breaker) == "ok"
    assert breaker.state == "closed"


def test_breaker_disabled_never_opens():
    breaker = CircuitBreaker(failures=0, reset_seconds=30, clock=Clock())

    for _ in range(100):
        breaker.record_failure()
    breaker.before_call()

    assert breaker.state == "closed"
    assert breaker.enabled is False


# --- the asyncio driver ------------------------------------------------------------------------------


async def test_acall_with_resilience_retries_transient_errors_then_succeeds():
    call = AsyncScript(rate_limit(), connection_error())
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    result = await acall_with_resilience(call, RESILIENCE, no_breaker(), sleep=sleep, rng=NoJitter())

    assert result == "ok"
    assert call.calls == 3
    assert sleeps == pytest.approx([0.2, 0.4])


async def test_acall_with_resilience_gives_up_after_max_retries():
    call = AsyncScript(*(timeout_error() for _ in range(9)))
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    with pytest.raises(openai.APITimeoutError):
        await acall_with_resilience(call, RESILIENCE, no_breaker(), sleep=sleep, rng=MaxJitter())

    assert call.calls == 4
    assert sleeps == pytest.approx([0.35, 0.55, 0.95])


async def test_acall_with_resilience_non_retryable_fails_immediately():
    call = AsyncScript(bad_request())

    with pytest.raises(openai.BadRequestError):
        await acall_with_resilience(call, RESILIENCE, no_breaker(), sleep=_never_sleep)

    assert call.calls == 1


async def test_acall_with_resilience_open_breaker_fails_fast():
    breaker = CircuitBreaker(failures=2, reset_seconds=30, clock=Clock())
    resilience = ProviderResilience(max_retries=4, circuit_breaker_failures=2)
    failing = AsyncScript(*(rate_limit() for _ in range(4)))

    async def sleep(seconds: float) -> None:
        return None

    with pytest.raises(openai.RateLimitError):
        await acall_with_resilience(failing, resilience, breaker, sleep=sleep)
    call = AsyncScript()

    with pytest.raises(ProviderCircuitOpenError):
        await acall_with_resilience(call, resilience, breaker)

    assert failing.calls == 2
    assert call.calls == 0


async def test_acall_with_resilience_cancelled_trial_frees_the_breaker():
    clock = Clock()
    breaker = CircuitBreaker(failures=1, reset_seconds=30, clock=clock)
    breaker.record_failure()
    clock.now += 30
    started = asyncio.Event()

    async def hang() -> str:
        started.set()
        await asyncio.sleep(60)
        return "late"

    task = asyncio.create_task(acall_with_resilience(hang, ProviderResilience(), breaker))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await acall_with_resilience(AsyncScript(), ProviderResilience(), breaker) == "ok"
    assert breaker.state == "closed"


async def test_acall_with_resilience_accepts_sync_callables():
    assert await acall_with_resilience(lambda: 42, ProviderResilience(), no_breaker()) == 42


async def _never_sleep(seconds: float) -> None:
    raise AssertionError("must not sleep")
