"""Seed page, "Async quickstart": AsyncGuardedOpenAI behaves like the blocking client."""

from __future__ import annotations

from tests.governance.guard.conftest import user
from tests.support import demo_tools


async def test_async_run_executes_allowed_tool(make_async_guard):
    result = await make_async_guard().run(messages=user("Refund order ord_1 for 20"), model="gpt-4.1")
    assert result["execution"]["last"]["status"] == "executed"
    assert demo_tools.EXECUTIONS == [{"tool": "refund_payment", "order_id": "ord_1", "amount": 20.0}]


async def test_async_run_stream_yields_table_events(make_async_guard):
    kinds = [e["type"] async for e in make_async_guard().run_stream(messages=user("Look up ord_2"), model="gpt-4.1")]
    assert kinds[-1] == "final_response"
    assert "execution_event" in kinds and "llm_delta" in kinds


async def test_async_check_tool_is_silent(make_async_guard):
    decision = await make_async_guard().check_tool("refund_payment", {"order_id": "ord_1", "amount": 199.0})
    assert decision["status"] == "approval_required"
    assert demo_tools.EXECUTIONS == []
