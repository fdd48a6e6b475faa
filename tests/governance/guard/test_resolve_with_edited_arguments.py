"""The runner's part of "Edit, then approve": `recheck_tool` decides an edited call as an approved one is
re-checked, and `resolve(arguments=..., note=...)` runs the call with them and tells the model."""

from __future__ import annotations

import json

from tests.governance.guard.conftest import user
from tests.support import demo_tools

REFUND = user("Refund order ord_123 for 5000")


def test_recheck_tool_decides_an_edited_call_by_current_policy(make_guard):
    guard = make_guard()

    assert [guard.recheck_tool("refund_payment", {"order_id": "ord_1", "amount": amount}).outcome
            for amount in (50, 500, 50_000)] == ["allowed", "requires_approval", "blocked"]


def test_resolve_with_edited_arguments_runs_them_and_tells_the_model(make_guard, emulator):
    guard = make_guard()
    state = guard.start(messages=REFUND, model="gpt-4.1")
    list(guard.advance(state))
    call_id = state.pending[0].call_id

    list(guard.resolve(state, key=call_id, resolution="approved", arguments={"order_id": "ord_123", "amount": 80},
                       note="amount: 5000 -> 80"))

    assert demo_tools.EXECUTIONS == [{"tool": "refund_payment", "order_id": "ord_123", "amount": 80}]
    executed = state.events[-1]
    assert (executed["status"], executed["arguments"]) == ("executed", {"order_id": "ord_123", "amount": 80})
    assert executed["approval"] == {"resolution": "approved", "comment": "", "note": "amount: 5000 -> 80"}
    outputs = [i for i in emulator.requests[-1]["input"] if i.get("type") == "function_call_output"]
    assert json.loads(outputs[-1]["output"])["note"] == "amount: 5000 -> 80"
