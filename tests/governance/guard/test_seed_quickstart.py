"""Seed page, "Quickstart" and the `run(...)` payload: a governed run through the real SDK."""

from __future__ import annotations

from governance.guard import GuardedOpenAI
from tests.governance.guard.conftest import user
from tests.support import demo_tools


def test_run_allowed_tool_executes_and_answers(make_guard):
    result = make_guard().run(messages=user("Refund order ord_123 for 19.99"), model="gpt-4.1")
    last = result["execution"]["last"]
    assert (last["tool"], last["status"]) == ("refund_payment", "executed")
    assert last["output"] == {"ok": True, "order_id": "ord_123", "amount": 19.99, "refund_id": "re_ord_123"}
    assert demo_tools.EXECUTIONS == [{"tool": "refund_payment", "order_id": "ord_123", "amount": 19.99}]
    assert "re_ord_123" in result["output_text"]


def test_run_payload_has_seed_shape(make_guard):
    result = make_guard().run(messages=user("Look up order ord_5"), model="gpt-4.1")
    assert {"llm_response", "execution", "output_text", "id", "output"} <= set(result)
    assert result["llm_response"]["output_text"] == result["output_text"]
    assert result["execution"]["last"] == result["execution"]["events"][-1]
    assert set(result["execution"]["last"]) >= {
        "tool", "call_id", "status", "decision", "arguments", "output", "error",
        "event_id", "trace_id", "request_id", "seq", "schema_version", "source_version",
    }


def test_run_blocked_tool_never_executes(make_guard):
    result = make_guard().run(messages=user("Delete customer cus_42"), model="gpt-4.1")
    assert result["execution"]["last"]["status"] == "blocked"
    assert demo_tools.EXECUTIONS == []
    assert result["execution"]["status"] == "completed"


def test_run_over_threshold_requires_approval(make_guard):
    result = make_guard().run(messages=user("Refund order ord_123 for 199.99"), model="gpt-4.1")
    assert result["execution"]["last"]["status"] == "approval_required"
    assert result["execution"]["status"] == "approval_required"
    assert demo_tools.EXECUTIONS == []


def test_quickstart_without_keys_uses_offline_demo_model(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    guard = GuardedOpenAI(actor="AI_AGENT_001", domain="customer_transactions", policies=[])
    guard.tool("lookup_order", demo_tools.lookup_order)
    result = guard.run(messages=user("Look up order ord_1"), model="gpt-4.1")
    # No policy permits it, so the embedded engine fails closed.
    assert result["execution"]["last"]["status"] == "blocked"
    assert demo_tools.EXECUTIONS == []
