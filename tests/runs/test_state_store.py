"""A run's state as stored (runs/state_store.py), with the real runner, engine and demo model: the state
rebuilt from the rows is the state the worker held, after every step."""

from __future__ import annotations

import pytest

from approvals import services as approvals
from approvals.models import ApprovalRequest
from governance.guard import RunState
from governance.jsonsafe import json_safe
from runs import commands
from runs.models import Run, RunStateEntry, RunStatus
from runs.state_store import StoredState
from runs.worker import ClaimedRun

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo(demo_tools_registered):
    pass


def _saved(run_id) -> dict:
    state, _stored = StoredState.load(Run.objects.get(pk=run_id))
    return state.to_dict()


def test_state_rebuilt_after_every_step_is_the_state_the_worker_held(operator, monkeypatch):
    run = commands.start_run(user=operator, prompt="Refund order ord_7 for 250 and look up ord_8 and look up ord_9",
                             model="gpt-4.1", tool_names=["refund_payment", "lookup_order"])
    claimed = ClaimedRun.claim_queued(run.pk)
    compared = []
    record_step = claimed.record_step

    def record_and_compare(event):
        going_on = record_step(event)
        compared.append(event["status"])
        assert _saved(run.pk) == json_safe(claimed.state.to_dict())
        return going_on

    monkeypatch.setattr(claimed, "record_step", record_and_compare)
    claimed.drive()

    assert compared == ["approval_required", "executed", "executed"]
    assert Run.objects.get(pk=run.pk).status == RunStatus.AWAITING_APPROVAL
    assert _saved(run.pk) == json_safe(claimed.state.to_dict())
    assert "items" not in Run.objects.get(pk=run.pk).state  # the conversation is in the rows only


def test_resumed_run_goes_on_from_the_rebuilt_state(operator, reviewer, django_capture_on_commit_callbacks):
    run = commands.start_run(user=operator, prompt="Refund order ord_7 for 250 and look up ord_8",
                             model="gpt-4.1", tool_names=["refund_payment", "lookup_order"])
    ClaimedRun.claim_queued(run.pk).drive()
    paused = _saved(run.pk)

    approval = ApprovalRequest.objects.get(run=run)
    with django_capture_on_commit_callbacks(execute=True):
        approvals.resolve_approval(approval_id=approval.pk, reviewer=reviewer, resolution="approved", comment="ok")

    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    done = _saved(run.pk)
    # The resumed state is the paused one with the rest of the conversation appended, never rewritten.
    assert done["items"][:len(paused["items"])] == paused["items"]
    assert done["events"][:len(paused["events"])] == paused["events"]
    assert [e["status"] for e in done["events"]] == ["approval_required", "executed", "executed"]
    positions = RunStateEntry.objects.filter(run=run, kind=RunStateEntry.Kind.ITEM).values_list("position", flat=True)
    assert sorted(positions) == list(range(len(done["items"])))


def test_next_input_that_is_not_the_tail_of_the_items_is_kept_as_it_is(operator):
    state = RunState.start(messages=[{"role": "user", "content": "hi"}], model="gpt-4.1", store=True, create_args={})
    state.items.append({"type": "message", "role": "assistant", "content": "hello"})
    state.next_input = [{"type": "function_call_output", "call_id": "call_x", "output": "{}"}]
    run = Run.objects.create(started_by=operator, prompt="hi", model="gpt-4.1")
    stored = StoredState(run.pk)
    Run.objects.filter(pk=run.pk).update(state=stored.rest(state))
    stored.append_new(state)

    assert _saved(run.pk) == state.to_dict()
