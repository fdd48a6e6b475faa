"""Seed page, `run_stream(...)`: the adapter event table mapped from the Responses API stream."""

from __future__ import annotations

from governance.emulator import Fault, ScriptedTurn
from governance.guard.stream_events import STREAM_EVENT_TYPES
from tests.governance.guard.conftest import user


def test_stream_text_deltas_join_to_final_text(make_guard):
    events = list(make_guard().run_stream(messages=user("Look up order ord_9"), model="gpt-4.1"))
    deltas = "".join(e["delta"] for e in events if e["type"] == "llm_delta")
    final = events[-1]
    assert final["type"] == "final_response"
    assert deltas == final["response"]["output_text"]
    assert [e["text"] for e in events if e["type"] == "llm_text_done"] == [deltas]


def test_stream_event_order_for_a_tool_turn(make_guard):
    kinds = [e["type"] for e in make_guard().run_stream(messages=user("Look up order ord_9"), model="gpt-4.1")]
    assert set(kinds) <= set(STREAM_EVENT_TYPES)
    first_exec = kinds.index("execution_event")
    assert kinds.index("function_call_args_delta") < kinds.index("function_call_args_done") < first_exec
    assert kinds.index("response_done") < first_exec
    assert kinds.count("response_done") == 2  # the tool turn and the answer turn


def test_stream_execution_event_carries_governed_result(make_guard):
    events = list(make_guard().run_stream(messages=user("Delete customer cus_1"), model="gpt-4.1"))
    executions = [e["event"] for e in events if e["type"] == "execution_event"]
    assert [(e["tool"], e["status"]) for e in executions] == [("delete_customer", "blocked")]


def test_stream_final_response_same_shape_as_run(make_guard):
    streamed = list(make_guard().run_stream(messages=user("Look up order ord_9"), model="gpt-4.1"))[-1]["response"]
    ran = make_guard().run(messages=user("Look up order ord_9"), model="gpt-4.1")
    assert set(streamed) == set(ran)
    assert streamed["output_text"] == ran["output_text"]


def test_stream_refusal_delta_mapped(make_guard, emulator):
    emulator.add_script(ScriptedTurn(refusal="I can't help with that."))
    events = list(make_guard().run_stream(messages=user("do something bad"), model="gpt-4.1"))
    assert "".join(e["delta"] for e in events if e["type"] == "refusal_delta") == "I can't help with that."


def test_stream_failed_response_reported_and_raised(make_guard, emulator):
    emulator.inject(Fault.stream_failure())
    seen = []
    try:
        for event in make_guard(provider_max_retries=0).run_stream(messages=user("Look up ord_1"), model="gpt-4.1"):
            seen.append(event["type"])
    except Exception as exc:  # the run cannot finish: the caller is told
        assert "response failed" in str(exc)
    else:
        raise AssertionError("a failed stream must not end in a final_response")
    assert "response_failed" in seen
    assert "final_response" not in seen
