"""Fixtures for the guarded runner: the emulator behind a real SDK client, and a demo guard."""

from __future__ import annotations

import pytest

from governance.emulator import ResponsesEmulator, make_async_openai_client, make_openai_client
from governance.guard import AsyncGuardedOpenAI, GuardedOpenAI
from governance.policy import demo_policies
from tests.support import demo_tools


@pytest.fixture
def emulator() -> ResponsesEmulator:
    return ResponsesEmulator(seed=7)


@pytest.fixture(autouse=True)
def _clear_demo_executions():
    demo_tools.EXECUTIONS.clear()
    yield
    demo_tools.EXECUTIONS.clear()


def register_demo(guard) -> None:
    guard.tool(
        "refund_payment",
        demo_tools.refund_payment,
        value_from_args=lambda a: a["amount"],
        target_from_args=lambda a: a["order_id"],
    )
    guard.tool("lookup_order", demo_tools.lookup_order)
    guard.tool("delete_customer", demo_tools.delete_customer)


@pytest.fixture
def make_guard(emulator):
    """make_guard(**options) -> a GuardedOpenAI on the emulator with the demo tools and policies."""

    def make(**options) -> GuardedOpenAI:
        options.setdefault("openai_client", make_openai_client(emulator))
        options.setdefault("policies", demo_policies())
        options.setdefault("domain", "customer_transactions")
        options.setdefault("provider_retry_backoff_seconds", 0.0)
        options.setdefault("provider_retry_jitter_seconds", 0.0)
        guard = GuardedOpenAI(**options)
        register_demo(guard)
        return guard

    return make


@pytest.fixture
def make_async_guard(emulator):
    def make(**options) -> AsyncGuardedOpenAI:
        options.setdefault("openai_client", make_async_openai_client(emulator))
        options.setdefault("policies", demo_policies())
        options.setdefault("domain", "customer_transactions")
        options.setdefault("provider_retry_backoff_seconds", 0.0)
        options.setdefault("provider_retry_jitter_seconds", 0.0)
        guard = AsyncGuardedOpenAI(**options)
        register_demo(guard)
        return guard

    return make


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]
