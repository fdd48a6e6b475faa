"""Seed page, "Approval loop helper": run_with_approval and resume_after_approval."""

from __future__ import annotations

import json

from governance.guard import RunState
from tests.governance.guard.conftest import user
from tests.support import demo_tools

REFUND = user("Refund order ord_123 for 5000")


def test_run_with_approval_approved_runs_tool_once(make_guard):
    contexts = []

    def approve(ctx):
        contexts.append(ctx)
        return {"resolution": "approved", "comment": "approved by on-call"}

    result = make_guard().run_with_approval(messages=REFUND, model="gpt-4.1", on_approval_required=approve)
    assert [(c["tool"], c["arguments"]) for c in contexts] == [
        ("refund_payment", {"order_id": "ord_123", "amount": 5000})
    ]
    assert result["approval_loop"]["rounds"] == 1
    assert result["approval_loop"]["resolutions"][0]["resolution"] == "approved"
    assert [e["status"] for e in result["execution"]["events"]] == ["approval_required", "executed"]
    assert demo_tools.EXECUTIONS == [{"tool": "refund_payment", "order_id": "ord_123", "amount": 5000.0}]
    assert result["execution"]["status"] == "completed"


def test_run_with_approval_rejected_tells_model_why(make_guard, emulator):
    result = make_guard().run_with_approval(
        messages=REFUND, model="gpt-4.1",
        on_approval_required=lambda ctx: {"resolution": "rejected", "comment": "customer not eligible"},
    )
    assert demo_tools.EXECUTIONS == []
    assert result["execution"]["last"]["status"] == "denied"
    outputs = [i for i in emulator.requests[-1]["input"] if i.get("type") == "function_call_output"]
    assert json.loads(outputs[-1]["output"]) == {"status": "denied", "reason": "customer not eligible"}
    assert "customer not eligible" in result["output_text"]
    assert (result["approval_loop"]["resolved"], result["approval_loop"]["resumed"]) == (True, False)
    assert "tool_output" not in result["approval_loop"]


def test_run_with_approval_loop_carries_the_published_adapters_keys(make_guard):
    result = make_guard().run_with_approval(
        messages=REFUND, model="gpt-4.1", on_approval_required=lambda ctx: {"resolution": "approved", "comment": "ok"})
    loop = result["approval_loop"]
    paused = result["execution"]["events"][0]
    assert {key: loop[key] for key in ("required", "resolved", "resumed", "request_id", "approval", "tool_output")} == {
        "required": True, "resolved": True, "resumed": True, "request_id": paused["request_id"],
        "approval": {"status": "approved", "request_id": paused["request_id"], "comment": "ok"},
        "tool_output": {"ok": True, "order_id": "ord_123", "amount": 5000.0, "refund_id": "re_ord_123"},
    }
    assert loop["resolutions"][0]["tool_output"] == loop["tool_output"]


def test_run_with_approval_loop_when_nothing_needs_approval(make_guard):
    result = make_guard().run_with_approval(messages=user("Look up ord_1"), model="gpt-4.1",
                                            on_approval_required=lambda ctx: True)
    assert result["approval_loop"] == {"required": False, "resolved": False, "resumed": False, "rounds": 0,
                                       "resolutions": [], "status": "completed", "pending": []}


def test_run_with_approval_without_callback_stays_pending(make_guard):
    result = make_guard().run_with_approval(messages=REFUND, model="gpt-4.1")
    assert result["approval_loop"]["rounds"] == 0
    assert {key: result["approval_loop"][key] for key in ("required", "resolved", "resumed", "request_id")} == {
        "required": True, "resolved": False, "resumed": False,
        "request_id": result["execution"]["pending_approvals"][0]["request_id"]}
    assert [p["tool"] for p in result["approval_loop"]["pending"]] == ["refund_payment"]
    assert result["execution"]["status"] == "approval_required"
    assert demo_tools.EXECUTIONS == []


def test_resume_after_approval_in_a_new_process(make_guard):
    paused = make_guard().run(messages=REFUND, model="gpt-4.1")
    stored = json.dumps(paused["run_state"])  # what a database column would hold
    call_id = paused["execution"]["pending_approvals"][0]["call_id"]
    fresh = make_guard()  # another process: nothing shared but the JSON
    result = fresh.resume_after_approval(json.loads(stored), call_id=call_id, resolution="approved", comment="ok")
    assert result["execution"]["status"] == "completed"
    assert demo_tools.EXECUTIONS == [{"tool": "refund_payment", "order_id": "ord_123", "amount": 5000.0}]
    assert RunState.from_dict(result["run_state"]).pending == []


def test_resume_after_approval_rechecks_policy(make_guard):
    paused = make_guard().run(messages=user("Refund order ord_1 for 500"), model="gpt-4.1")
    from governance.policy import ToolThreshold

    stricter = make_guard(policies=[ToolThreshold("refund_payment", approve_above=100, block_above=200)])
    result = stricter.resume_after_approval(paused, resolution="approved")
    assert demo_tools.EXECUTIONS == []
    assert result["execution"]["last"]["status"] == "blocked"
    assert result["execution"]["last"]["reason"].startswith("approved, but no longer allowed")


def test_run_with_approval_several_pending_calls(make_guard):
    asked = []
    result = make_guard().run_with_approval(
        messages=user("Refund ord_1 for 500 and refund ord_2 for 700 and look up ord_3"), model="gpt-4.1",
        on_approval_required=lambda ctx: asked.append(ctx["arguments"]["order_id"]) or True,
    )
    assert asked == ["ord_1", "ord_2"]
    assert sorted(e["tool"] + ":" + e["status"] for e in result["execution"]["events"]) == [
        "lookup_order:executed", "refund_payment:approval_required", "refund_payment:approval_required",
        "refund_payment:executed", "refund_payment:executed",
    ]
    assert result["execution"]["status"] == "completed"
