"""Seed page, "Audit hook": on_decision gets every governed event with stable identifiers."""

from __future__ import annotations

from tests.governance.guard.conftest import user


def test_on_decision_receives_ids_for_each_call(make_guard):
    seen = []
    guard = make_guard(on_decision=seen.append)
    result = guard.run(messages=user("Refund ord_1 for 50 and look up ord_2"), model="gpt-4.1")
    assert [e["tool"] for e in seen] == ["refund_payment", "lookup_order"]
    assert {e["trace_id"] for e in seen} == {result["execution"]["trace_id"]}
    assert [e["seq"] for e in seen] == [0, 1]
    assert len({e["event_id"] for e in seen}) == 2
    assert all(e["request_id"] and e["allowed"] is True for e in seen)


def test_on_decision_hook_error_does_not_break_run(make_guard):
    def broken(event):
        raise RuntimeError("log sink down")

    result = make_guard(on_decision=broken).run(messages=user("Look up ord_3"), model="gpt-4.1")
    assert result["execution"]["last"]["status"] == "executed"
    assert result["execution"]["status"] == "completed"


def test_on_decision_blocked_event_not_allowed(make_guard):
    seen = []
    make_guard(on_decision=seen.append).run(messages=user("Delete customer cus_4"), model="gpt-4.1")
    assert [(e["status"], e["allowed"]) for e in seen] == [("blocked", False)]
    assert seen[0]["decision"]["reason"]
