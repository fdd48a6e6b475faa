"""The worker's steps (runs/worker.py), with the real runner, engine and demo model."""

from __future__ import annotations

import pytest

from runs import commands
from runs.worker import ClaimedRun
from tests.support import demo_tools

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo(demo_tools_registered):
    pass


def test_one_governed_call_is_recorded_in_a_fixed_number_of_queries(operator, monkeypatch, django_assert_num_queries):
    """From the model's answer naming the call to its step written, in two transactions: the active
    pauses covering the call (the kill switch, read at each decision); the claim on the call with the
    state (UPDATE, the call's item INSERT, the execution's get-or-create); then the tool's redaction
    settings, and the step: the state under the claim (UPDATE), the call's outcome (UPDATE), its output
    item and execution event (INSERT), what the policies were given (the DecisionInput, INSERT), the event
    (seq, INSERT), the run's count of executed calls (UPDATE), the step's audit record (the tool's context
    and the record: no chain head, the sealer chains it later), with the savepoints of the atomic blocks."""
    monkeypatch.setattr("audit.recorders._tool_contexts", {})  # the tool's domain/actor is read, not cached
    run = commands.start_run(user=operator, prompt="Look up order ord_100", model="gpt-4.1",
                             tool_names=["lookup_order"])
    claimed = ClaimedRun.claim_queued(run.pk)
    claimed.prepare()
    steps = claimed.guard.advance(claimed.state, stream=True, executor=claimed.execute_tool)

    with django_assert_num_queries(23):
        step = next(event["event"] for event in steps if event["type"] == "execution_event")
        assert claimed.record_step(step) is True

    assert (step["tool"], step["status"]) == ("lookup_order", "executed")
    assert demo_tools.EXECUTIONS == [{"tool": "lookup_order", "order_id": "ord_100"}]
    assert run.events.get(type="execution_event").payload["call_id"] == step["call_id"]
    run.refresh_from_db()
    assert (run.calls_executed, run.calls_not_done) == (1, 0)
