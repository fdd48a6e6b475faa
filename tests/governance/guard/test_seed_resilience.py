"""Seed page, "Provider resilience knobs", through the emulator's injected faults."""

from __future__ import annotations

import openai
import pytest

from governance.emulator import Fault
from governance.guard import ProviderCircuitOpenError
from tests.governance.guard.conftest import user


def test_rate_limit_retried_then_succeeds(make_guard, emulator):
    emulator.inject(Fault.rate_limit(retry_after=0), times=2)
    result = make_guard(provider_max_retries=2).run(messages=user("Look up ord_1"), model="gpt-4.1")
    assert result["execution"]["status"] == "completed"
    assert len(emulator.requests) == 4  # two 429s, then the tool turn and the answer turn


@pytest.mark.parametrize("fault", [Fault.timeout(), Fault.connection_error(), Fault.rate_limit(retry_after=0)])
def test_transient_errors_retried(make_guard, emulator, fault):
    emulator.inject(fault, times=1)
    result = make_guard(provider_max_retries=1).run(messages=user("Look up ord_1"), model="gpt-4.1")
    assert result["execution"]["status"] == "completed"


@pytest.mark.parametrize(
    ("fault", "error"),
    [(Fault.bad_request("bad"), openai.BadRequestError), (Fault.unauthorized(), openai.AuthenticationError)],
)
def test_non_transient_errors_fail_at_once(make_guard, emulator, fault, error):
    emulator.inject(fault, times=1)
    with pytest.raises(error):
        make_guard(provider_max_retries=3).run(messages=user("Look up ord_1"), model="gpt-4.1")
    assert len(emulator.exchanges) == 1


def test_retries_exhausted_raise_last_error(make_guard, emulator):
    emulator.inject(Fault.server_error(), times=5)
    with pytest.raises(openai.InternalServerError):
        make_guard(provider_max_retries=3).run(messages=user("Look up ord_1"), model="gpt-4.1")
    assert len(emulator.exchanges) == 1  # 500 is not in the seed's transient list


def test_circuit_breaker_opens_and_fails_fast(make_guard, emulator):
    guard = make_guard(provider_max_retries=0, provider_circuit_breaker_failures=2,
                       provider_circuit_breaker_reset_seconds=30)
    emulator.inject(Fault.rate_limit(retry_after=0), times=2)
    for _ in range(2):
        with pytest.raises(openai.RateLimitError):
            guard.run(messages=user("Look up ord_1"), model="gpt-4.1")
    sent = len(emulator.exchanges)
    with pytest.raises(ProviderCircuitOpenError):
        guard.run(messages=user("Look up ord_1"), model="gpt-4.1")
    assert len(emulator.exchanges) == sent  # nothing sent while open
