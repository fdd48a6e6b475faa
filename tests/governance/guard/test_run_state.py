"""The run state is a plain JSON value after every step, enough to resume elsewhere."""

from __future__ import annotations

import json

import pytest

from governance.guard import RunState
from tests.governance.guard.conftest import user


def test_state_round_trips_through_json(make_guard):
    paused = make_guard().run(messages=user("Refund ord_1 for 500 and look up ord_2"), model="gpt-4.1")
    state = RunState.from_dict(json.loads(json.dumps(paused["run_state"])))
    assert state.to_dict() == paused["run_state"]
    assert [p.tool for p in state.pending] == ["refund_payment"]
    assert state.status == "approval_required"
    assert [e["status"] for e in state.events] == ["approval_required", "executed"]


def test_state_after_every_step_is_serialisable(make_guard):
    guard = make_guard()
    state = guard.start(messages=user("Refund ord_1 for 50 and look up ord_2"), model="gpt-4.1")
    snapshots = []
    for event in guard.advance(state, stream=True):
        if event["type"] == "execution_event":
            snapshots.append(json.dumps(state.to_dict()))
    assert len(snapshots) == 2
    assert [len(json.loads(s)["events"]) for s in snapshots] == [1, 2]


def test_state_from_unknown_schema_version_refused():
    with pytest.raises(ValueError, match="schema_version 99 is not supported"):
        RunState.from_dict({"schema_version": 99})


def test_resume_unknown_call_id_names_pending(make_guard):
    paused = make_guard().run(messages=user("Refund ord_1 for 500"), model="gpt-4.1")
    with pytest.raises(KeyError, match="pending call ids: "):
        make_guard().resume_after_approval(paused, call_id="call_nope", resolution="approved")


def test_closing_a_run_midway_stops_cleanly(make_guard):
    guard = make_guard()
    state = guard.start(messages=user("Refund ord_1 for 50 and look up ord_2"), model="gpt-4.1")
    events = guard.advance(state, stream=True)
    for event in events:
        if event["type"] == "execution_event":
            events.close()  # what a cancelled run's worker does
            break
    assert [e["tool"] for e in state.events] == ["refund_payment"]
    assert state.status == "running"


class _ProcessDied(BaseException):
    """Stands in for the process being killed: no `except Exception` on the way catches it."""


def test_state_saved_before_a_tool_call_goes_on_in_another_process(make_guard, emulator):
    """A durable caller saves the state right before each tool call; if the process dies inside the
    second call of a turn, the saved state settles that call (same call id) instead of asking the
    model again with a call that has no output."""
    saved: list[str] = []

    def dies_in_second_call(spec, call_id, arguments):
        saved.append(json.dumps(state.to_dict()))
        if len(saved) == 2:
            raise _ProcessDied
        return spec.invoke(arguments)

    guard = make_guard()
    state = guard.start(messages=user("Look up ord_1 and look up ord_2"), model="gpt-4.1")
    with pytest.raises(_ProcessDied):
        for _event in guard.advance(state, stream=True, executor=dies_in_second_call):
            pass
    asked_before = len(emulator.exchanges)

    seen: list[str] = []

    def records(spec, call_id, arguments):
        seen.append(call_id)
        return spec.invoke(arguments)

    again = RunState.from_dict(json.loads(saved[-1]))
    second_call = [i for i in again.items if i.get("type") == "function_call"][1]
    events = list(make_guard().advance(again, stream=True, executor=records))
    assert again.status == "completed", again.error
    assert seen == [second_call["call_id"]]
    assert [e["status"] for e in again.events] == ["executed", "executed"]
    assert "ord_1" in again.last_response["output_text"] and "ord_2" in again.last_response["output_text"]
    assert len([e for e in events if e["type"] == "execution_event"]) == 1
    assert [x.status for x in emulator.exchanges[asked_before:]] == [200]  # only the final answer was asked for
