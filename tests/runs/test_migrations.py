"""The data migrations that move facts out of the event log into columns (runs 0003, 0004), and the one that
splits run states into rows (0006)."""

from __future__ import annotations

import pytest

BEFORE = [("runs", "0002_run_heartbeat")]
AFTER = [("runs", "0003_run_retry_of_and_recoveries_as_columns")]


@pytest.mark.django_db(transaction=True)
def test_recoveries_and_retry_of_are_read_from_the_events(migrate):
    apps = migrate(BEFORE)
    Run, RunEvent = apps.get_model("runs", "Run"), apps.get_model("runs", "RunEvent")
    user = apps.get_model("auth", "User").objects.create(username="olivia")
    failed, retry, other = (Run.objects.create(started_by_id=user.pk, prompt="p", model="m") for _ in range(3))
    requeued = {"status": "queued", "detail": "queued again: its worker stopped responding"}
    RunEvent.objects.create(run=failed, seq=1, type="status", payload={"status": "queued", "detail": "queued by o"})
    RunEvent.objects.create(run=failed, seq=2, type="status", payload=requeued)
    RunEvent.objects.create(run=failed, seq=3, type="status", payload=requeued)
    RunEvent.objects.create(run=retry, seq=1, type="status",
                            payload={"status": "queued", "detail": "retry of run x by o", "retry_of": str(failed.pk)})

    apps = migrate(AFTER)
    Run = apps.get_model("runs", "Run")

    assert Run.objects.get(pk=failed.pk).recoveries == 2
    assert Run.objects.get(pk=retry.pk).retry_of_id == failed.pk
    assert (Run.objects.get(pk=other.pk).recoveries, Run.objects.get(pk=other.pk).retry_of_id) == (0, None)


@pytest.mark.django_db(transaction=True)
def test_call_counts_are_read_from_the_events_of_existing_runs(migrate):
    apps = migrate([("runs", "0003_run_retry_of_and_recoveries_as_columns")])
    Run, RunEvent = apps.get_model("runs", "Run"), apps.get_model("runs", "RunEvent")
    user = apps.get_model("auth", "User").objects.create(username="olivia")
    blocked, mixed, quiet = (Run.objects.create(started_by_id=user.pk, prompt="p", model="m", status="completed")
                             for _ in range(3))
    steps = {blocked: ["blocked"],
             mixed: ["executed", "approval_required", "executed", "denied", "expired", "tool_error", "blocked",
                     "approval_required", "denied"]}
    for run, statuses in steps.items():
        RunEvent.objects.create(run=run, seq=1, type="status", payload={"status": "running", "detail": "x"})
        for seq, status in enumerate(statuses, start=2):
            RunEvent.objects.create(run=run, seq=seq, type="execution_event",
                                    payload={"tool": "t", "call_id": f"call_{seq}", "status": status})
    RunEvent.objects.create(run=quiet, seq=1, type="status", payload={"status": "completed", "detail": "x"})

    apps = migrate([("runs", "0004_run_call_counts")])
    Run = apps.get_model("runs", "Run")

    def counts(run):
        return Run.objects.values_list("calls_executed", "calls_blocked", "calls_denied", "calls_expired",
                                       "calls_failed").get(pk=run.pk)

    assert counts(blocked) == (0, 1, 0, 0, 0)
    assert counts(mixed) == (2, 1, 2, 1, 1)
    assert counts(quiet) == (0, 0, 0, 0, 0)


@pytest.mark.django_db(transaction=True)
def test_run_states_are_split_into_rows_and_joined_back(migrate):
    from governance.guard import RunState
    from runs.models import Run as CurrentRun
    from runs.state_store import StoredState

    before = [("runs", "0005_run_origin_remote_sessions")]
    apps = migrate(before)
    Run = apps.get_model("runs", "Run")
    user = apps.get_model("auth", "User").objects.create(username="olivia")
    state = RunState.start(messages=[{"role": "user", "content": "Look up ord_1"}], model="gpt-4.1", store=False,
                           create_args={})
    call = {"type": "function_call", "call_id": "call_1", "name": "lookup_order", "arguments": '{"order_id": "ord_1"}'}
    output = {"type": "function_call_output", "call_id": "call_1", "output": '{"status": "executed"}'}
    state.items += [call, output]
    state.next_input = [output]
    state.events.append({"tool": "lookup_order", "call_id": "call_1", "status": "executed", "seq": 0})
    state.rounds = 1
    old = state.to_dict()
    run = Run.objects.create(started_by_id=user.pk, prompt="p", model="m", state=old)
    fresh = Run.objects.create(started_by_id=user.pk, prompt="p", model="m")

    migrate([("runs", "0006_run_state_entries")])

    migrated = CurrentRun.objects.get(pk=run.pk)
    assert "items" not in migrated.state and "events" not in migrated.state
    assert migrated.state_entries.count() == 4  # three items, one event
    rebuilt, stored = StoredState.load(migrated)
    assert rebuilt.to_dict() == old
    assert (stored.items, stored.events) == (3, 1)
    assert CurrentRun.objects.get(pk=fresh.pk).state is None

    apps = migrate(before)
    assert apps.get_model("runs", "Run").objects.get(pk=run.pk).state == old
