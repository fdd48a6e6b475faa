"""Seed page, "Responses API compatibility", and what the runner does with bad model output."""

from __future__ import annotations

import json

from governance.emulator import ScriptedCall, ScriptedTurn
from governance.policy import PolicySource, demo_policies
from tests.governance.guard.conftest import user
from tests.support import demo_tools


def test_tools_sent_flat_and_strict(make_guard, emulator):
    make_guard().run(messages=user("Look up ord_1"), model="gpt-4.1")
    tool = next(t for t in emulator.requests[0]["tools"] if t["name"] == "lookup_order")
    assert tool["type"] == "function" and tool["strict"] is True and "function" not in tool
    assert tool["parameters"]["additionalProperties"] is False
    assert tool["parameters"]["required"] == ["order_id"]


def test_store_false_replays_items_without_previous_id(make_guard, emulator):
    make_guard().run(messages=user("Look up ord_1"), model="gpt-4.1")
    first, second = emulator.requests
    assert first["store"] is False and second["store"] is False
    assert "previous_response_id" not in second
    assert second["include"] == ["reasoning.encrypted_content"]
    kinds = [i.get("type", "message") for i in second["input"]]
    assert kinds == ["message", "reasoning", "function_call", "function_call_output"]
    assert second["input"][1]["encrypted_content"]


def test_store_true_chains_by_previous_response_id(make_guard, emulator):
    result = make_guard().run(messages=user("Look up ord_1"), model="gpt-4.1", extra_create_args={"store": True})
    first, second = emulator.requests
    assert first["store"] is True and second["previous_response_id"]
    assert [i["type"] for i in second["input"]] == ["function_call_output"]
    assert result["execution"]["status"] == "completed"


def test_function_call_output_shape(make_guard, emulator):
    make_guard().run(messages=user("Look up ord_1"), model="gpt-4.1")
    output = emulator.requests[1]["input"][-1]
    assert set(output) == {"type", "call_id", "output"}
    assert json.loads(output["output"]) == {
        "status": "executed", "output": {"order_id": "ord_1", "status": "shipped", "total": 199.99}}


def test_several_calls_in_one_turn_decided_each(make_guard):
    result = make_guard().run(messages=user("Refund ord_1 for 50 and delete customer cus_2 and look up ord_3"),
                              model="gpt-4.1")
    assert [(e["tool"], e["status"]) for e in result["execution"]["events"]] == [
        ("refund_payment", "executed"), ("delete_customer", "blocked"), ("lookup_order", "executed"),
    ]
    assert [e["tool"] for e in demo_tools.EXECUTIONS] == ["refund_payment", "lookup_order"]


def _scripted_events(make_guard, emulator, call: ScriptedCall):
    emulator.add_script(ScriptedTurn(function_calls=[call]))
    result = make_guard().run(messages=user("anything"), model="gpt-4.1")
    assert result["execution"]["status"] == "completed"  # the run goes on to a final answer
    return result["execution"]["events"], emulator.requests[1]["input"][-1]


def test_malformed_json_arguments_become_tool_error(make_guard, emulator):
    events, fed_back = _scripted_events(make_guard, emulator, ScriptedCall("lookup_order", '{"order_id": "ord_1"'))
    assert events[0]["status"] == "tool_error"
    assert events[0]["reason"].startswith("invalid arguments for lookup_order: ")
    assert json.loads(fed_back["output"])["status"] == "error"
    assert demo_tools.EXECUTIONS == []


def test_unknown_tool_is_blocked_with_reason(make_guard, emulator):
    events, fed_back = _scripted_events(make_guard, emulator, ScriptedCall("format_disk", "{}"))
    assert events[0]["status"] == "blocked"
    assert events[0]["reason"].startswith("unknown tool 'format_disk'")
    assert json.loads(fed_back["output"])["status"] == "blocked"


def test_schema_violation_becomes_tool_error(make_guard, emulator):
    events, _ = _scripted_events(
        make_guard, emulator, ScriptedCall("refund_payment", {"order_id": "ord_1", "amount": "lots"})
    )
    assert events[0]["status"] == "tool_error"
    assert "amount" in events[0]["reason"]
    assert demo_tools.EXECUTIONS == []


def test_huge_arguments_refused_before_decision(make_guard, emulator):
    huge = json.dumps({"order_id": "x" * 200_000})
    events, _ = _scripted_events(make_guard, emulator, ScriptedCall("lookup_order", huge))
    assert events[0]["status"] == "tool_error"
    assert events[0]["reason"].endswith("bytes, over the 64,000-byte limit")
    assert len(json.dumps(events[0]["arguments"])) < 5_000  # the event keeps a preview, not the payload


def test_tool_exception_becomes_tool_error(make_guard, emulator):
    allow = PolicySource("allow-stock", 'permit(principal, action == Action::"check_stock", resource);')
    guard = make_guard(policies=[*demo_policies(), allow])

    def check_stock(order_id: str) -> dict:
        raise ConnectionError("upstream down")

    guard.register_tool("check_stock", check_stock)
    emulator.add_script(ScriptedTurn(function_calls=[ScriptedCall("check_stock", {"order_id": "o"})]))
    result = guard.run(messages=user("x"), model="gpt-4.1")
    assert result["execution"]["events"][0]["status"] == "tool_error"
    assert result["execution"]["events"][0]["error"] == "ConnectionError: upstream down"


def test_max_tool_rounds_ends_run_as_failed(make_guard, emulator):
    for _ in range(3):
        emulator.add_script(ScriptedTurn(function_calls=[ScriptedCall("lookup_order", {"order_id": "o"})]))
    result = make_guard(max_tool_rounds=2).run(messages=user("x"), model="gpt-4.1")
    assert result["execution"]["status"] == "failed"
    assert result["execution"]["error"].startswith("stopped after 2 tool rounds")
