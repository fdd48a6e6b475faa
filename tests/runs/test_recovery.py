"""Runs whose worker died are set going again, with the real runner, engine and demo model.

A worker "dies" here by raising `WorkerKilled`, a BaseException nothing on the way catches, at the
point where a kill -9 would stop it: inside the model call or inside a tool. What it leaves behind
is what a killed worker leaves: the run `running` under its claim, the state of its last write, a
heartbeat that is no longer renewed. Recovery passes are then run "a minute later".
"""

from __future__ import annotations

import functools
import threading
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.utils import timezone

from approvals import services as approvals
from approvals.models import ApprovalRequest, ApprovalStatus
from runs import commands, worker
from runs.models import Run, RunStatus, ToolExecution
from runs.recovery import REQUEUED_DETAIL, recover_stalled_runs
from tests.factories import make_user
from tests.support import demo_tools

pytestmark = pytest.mark.django_db


class WorkerKilled(BaseException):
    """The worker process stops here, as with kill -9."""


@pytest.fixture(autouse=True)
def demo(demo_tools_registered):
    pass


def _later(seconds: float = 60):
    return timezone.now() + timedelta(seconds=seconds)


def _start(user, prompt: str) -> Run:
    return commands.start_run(user=user, prompt=prompt, model="gpt-4.1",
                              tool_names=["refund_payment", "lookup_order", "delete_customer"])


def _dies_in_model_call(monkeypatch) -> None:
    def create(**_kwargs):
        raise WorkerKilled

    monkeypatch.setattr("governance.assembly.openai_client", lambda: SimpleNamespace(responses=SimpleNamespace(
        create=create)))


def _dies_deciding(monkeypatch) -> None:
    def evaluate(self, action):
        raise WorkerKilled

    monkeypatch.setattr("governance.policy.engine.EmbeddedPolicyEngine.evaluate", evaluate)


def _dies_inside_lookup(monkeypatch, dies_for: str) -> None:
    """lookup_order does its work (the side effect is recorded), then the worker dies before it returns."""
    original = demo_tools.lookup_order

    @functools.wraps(original)
    def lookup_order(order_id: str):
        result = original(order_id)
        if order_id == dies_for:
            raise WorkerKilled
        return result

    monkeypatch.setattr(demo_tools, "lookup_order", lookup_order)


def _executed_by_dying_worker(monkeypatch, run: Run, dies) -> None:
    with monkeypatch.context() as patch:
        dies(patch)
        with pytest.raises(WorkerKilled):
            worker.execute_run(run_id=run.pk)
    assert Run.objects.get(pk=run.pk).status == RunStatus.RUNNING


def _recover(django_capture_on_commit_callbacks, now=None) -> int:
    """One beat pass; the tasks it queues run at once (eager Celery) after its commits."""
    with django_capture_on_commit_callbacks(execute=True):
        return recover_stalled_runs(now=now)


def _timeline(run: Run) -> list[tuple]:
    rows = []
    for event in run.events.order_by("seq"):
        if event.type == "execution_event":
            rows.append((event.type, event.payload["tool"], event.payload["status"]))
        elif event.type == "status":
            rows.append((event.type, event.payload["status"]))
    return rows


def _assert_seq_has_no_gap_or_duplicate(run: Run) -> None:
    seqs = list(run.events.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))


def test_run_whose_worker_died_in_the_model_call_is_queued_again_and_completes(
    operator, monkeypatch, django_capture_on_commit_callbacks
):
    run = _start(operator, "Look up order ord_100")
    _executed_by_dying_worker(monkeypatch, run, _dies_in_model_call)

    assert _recover(django_capture_on_commit_callbacks, now=_later()) == 1

    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert "ord_100" in run.final_text
    assert demo_tools.EXECUTIONS == [{"tool": "lookup_order", "order_id": "ord_100"}]
    assert _timeline(run) == [
        ("status", "queued"), ("status", "running"),
        ("status", "queued"), ("status", "running"),
        ("execution_event", "lookup_order", "executed"),
        ("status", "completed"),
    ]
    assert run.events.filter(type="status", payload__detail=REQUEUED_DETAIL).count() == 1
    assert run.recoveries == 1
    _assert_seq_has_no_gap_or_duplicate(run)


def test_run_with_a_fresh_heartbeat_is_left_alone(operator, monkeypatch, django_capture_on_commit_callbacks):
    run = _start(operator, "Look up order ord_100")
    _executed_by_dying_worker(monkeypatch, run, _dies_in_model_call)
    Run.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=10))  # within 15 s
    events_before = run.events.count()

    assert _recover(django_capture_on_commit_callbacks) == 0

    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING
    assert run.events.count() == events_before


def test_tool_that_had_started_is_not_run_again(operator, monkeypatch, django_capture_on_commit_callbacks):
    run = _start(operator, "Look up order ord_100")
    _executed_by_dying_worker(monkeypatch, run, lambda patch: _dies_inside_lookup(patch, "ord_100"))
    assert demo_tools.EXECUTIONS == [{"tool": "lookup_order", "order_id": "ord_100"}]

    assert _recover(django_capture_on_commit_callbacks, now=_later()) == 1

    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert demo_tools.EXECUTIONS == [{"tool": "lookup_order", "order_id": "ord_100"}]  # its side effect, once
    assert ToolExecution.objects.filter(run=run).count() == 1
    assert ToolExecution.objects.get(run=run).status == ToolExecution.Status.STARTED
    step = run.events.get(type="execution_event")
    assert step.payload["status"] == "tool_error"
    assert "was started before and may have run; it is not run twice" in step.payload["error"]
    assert "lookup_order (order_id=ord_100) was not done" in run.final_text  # the model was told
    assert "may have run" in run.final_text
    _assert_seq_has_no_gap_or_duplicate(run)


def test_run_that_died_midway_through_a_turn_finishes_that_turn(
    operator, monkeypatch, django_capture_on_commit_callbacks
):
    run = _start(operator, "Look up ord_1 and look up ord_2")
    _executed_by_dying_worker(monkeypatch, run, lambda patch: _dies_inside_lookup(patch, "ord_2"))

    assert _recover(django_capture_on_commit_callbacks, now=_later()) == 1

    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert demo_tools.EXECUTIONS == [
        {"tool": "lookup_order", "order_id": "ord_1"}, {"tool": "lookup_order", "order_id": "ord_2"},
    ]
    assert _timeline(run) == [
        ("status", "queued"), ("status", "running"),
        ("execution_event", "lookup_order", "executed"),
        ("status", "queued"), ("status", "running"),
        ("execution_event", "lookup_order", "tool_error"),
        ("status", "completed"),
    ]
    assert ToolExecution.objects.filter(run=run).count() == 2
    _assert_seq_has_no_gap_or_duplicate(run)


def test_paused_run_with_an_approval_nobody_applied_is_resumed(
    operator, reviewer, django_capture_on_commit_callbacks
):
    run = _start(operator, "Refund order ord_7 for 250")
    worker.execute_run(run_id=run.pk)
    approval = ApprovalRequest.objects.get(run=run)
    # The resume this queues is lost (the test never runs its after-commit callbacks), as when
    # Redis lost it or the web process died before sending it.
    approvals.resolve_approval(approval_id=approval.pk, reviewer=reviewer, resolution="approved")

    assert _recover(django_capture_on_commit_callbacks) == 0  # just approved: its resume may be on its way
    assert _recover(django_capture_on_commit_callbacks, now=_later()) == 1

    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert demo_tools.EXECUTIONS == [{"tool": "refund_payment", "order_id": "ord_7", "amount": 250.0}]
    assert "re_ord_7" in run.final_text
    assert _recover(django_capture_on_commit_callbacks, now=_later()) == 0
    _assert_seq_has_no_gap_or_duplicate(run)


def test_resume_is_sent_again_only_for_the_calls_the_run_still_waits_for(
    operator, reviewer, django_capture_on_commit_callbacks
):
    run = _start(operator, "Refund order ord_7 for 250 and refund ord_8 for 300")
    worker.execute_run(run_id=run.pk)
    first, second = ApprovalRequest.objects.filter(run=run).order_by("pk")
    approvals.resolve_approval(approval_id=first.pk, reviewer=reviewer, resolution="approved")
    worker.resume_run(run_id=run.pk)  # applied: the run now waits for the second refund only
    assert Run.objects.get(pk=run.pk).status == RunStatus.AWAITING_APPROVAL

    assert _recover(django_capture_on_commit_callbacks, now=_later()) == 0  # an old approval, but applied

    approvals.resolve_approval(approval_id=second.pk, reviewer=reviewer, resolution="denied", comment="too much")
    assert _recover(django_capture_on_commit_callbacks, now=_later()) == 1
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert demo_tools.EXECUTIONS == [{"tool": "refund_payment", "order_id": "ord_7", "amount": 250.0}]


def test_paused_run_waiting_for_a_reviewer_is_left_alone(operator, django_capture_on_commit_callbacks):
    run = _start(operator, "Refund order ord_7 for 250")
    worker.execute_run(run_id=run.pk)

    assert _recover(django_capture_on_commit_callbacks, now=_later(3600)) == 0

    run.refresh_from_db()
    assert run.status == RunStatus.AWAITING_APPROVAL
    assert ApprovalRequest.objects.get(run=run).status == ApprovalStatus.PENDING


def test_run_whose_execution_task_was_lost_is_sent_again(operator, django_capture_on_commit_callbacks):
    run = _start(operator, "Look up order ord_5")  # committed, but its task never reaches a worker here

    assert _recover(django_capture_on_commit_callbacks, now=_later(60)) == 0  # waiting in a queue is normal
    assert _recover(django_capture_on_commit_callbacks, now=_later(400)) == 1

    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert demo_tools.EXECUTIONS == [{"tool": "lookup_order", "order_id": "ord_5"}]
    assert _recover(django_capture_on_commit_callbacks, now=_later(1200)) == 0
    _assert_seq_has_no_gap_or_duplicate(run)


def test_worker_that_only_looked_dead_writes_nothing_after_its_run_was_taken_over(
    operator, monkeypatch, django_capture_on_commit_callbacks
):
    """The worker is frozen inside a tool long enough for a recovery pass to queue its run again;
    when it wakes up, its results are not written: the run goes on once, under the new claim."""
    run = _start(operator, "Look up order ord_100")
    original = demo_tools.lookup_order

    @functools.wraps(original)
    def frozen_lookup(order_id: str):
        result = original(order_id)
        assert recover_stalled_runs(now=_later()) == 1  # beat ran while this worker was frozen
        return result

    monkeypatch.setattr(demo_tools, "lookup_order", frozen_lookup)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        worker.execute_run(run_id=run.pk)
    monkeypatch.setattr(demo_tools, "lookup_order", original)
    assert Run.objects.get(pk=run.pk).status == RunStatus.QUEUED  # the old worker wrote nothing more

    with django_capture_on_commit_callbacks(execute=True):
        for callback in queued:
            callback()

    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert demo_tools.EXECUTIONS == [{"tool": "lookup_order", "order_id": "ord_100"}]
    # The new worker found the call finished and reused its output: one "executed" step, not two.
    assert _timeline(run) == [
        ("status", "queued"), ("status", "running"),
        ("status", "queued"), ("status", "running"),
        ("execution_event", "lookup_order", "executed"),
        ("status", "completed"),
    ]
    _assert_seq_has_no_gap_or_duplicate(run)


def test_run_that_keeps_killing_its_worker_fails_after_the_retry_limit(
    operator, reviewer, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.GOVERNANCE_RUN_MAX_RECOVERIES = 1
    run = _start(operator, "Refund order ord_7 for 250 and look up ord_8")
    _executed_by_dying_worker(monkeypatch, run, lambda patch: _dies_inside_lookup(patch, "ord_8"))
    with django_capture_on_commit_callbacks(execute=False):
        assert recover_stalled_runs(now=_later()) == 1
    _executed_by_dying_worker(monkeypatch, run, _dies_deciding)  # settling the lookup again

    assert _recover(django_capture_on_commit_callbacks, now=_later()) == 1

    run.refresh_from_db()
    assert run.status == RunStatus.FAILED  # and not queued again (Celery is eager here: it would have run)
    assert run.error == "its worker stopped responding 2 times; it is not queued again"
    assert _timeline(run)[-1] == ("status", "failed")
    approval = ApprovalRequest.objects.get(run=run)  # the refund paused before the lookup killed the worker
    assert approval.status == ApprovalStatus.DENIED
    assert approval.comment.startswith("the run failed: its worker stopped responding")
    _assert_seq_has_no_gap_or_duplicate(run)


def test_run_left_by_an_older_version_inside_an_unrecorded_tool_call_fails_instead(
    operator, django_capture_on_commit_callbacks
):
    """Before heartbeats, the state was saved only after a step: a worker that died inside the first
    call of a turn left a state without that call. Continuing would ask the model again, which would
    name the call anew, so the call could run twice: the run is failed instead."""
    run = _start(operator, "Look up order ord_100")
    long_ago = timezone.now() - timedelta(hours=1)
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, started_at=long_ago, updated_at=long_ago)
    ToolExecution.objects.create(run=run, call_id="call_old", tool="lookup_order")

    assert _recover(django_capture_on_commit_callbacks) == 1

    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error == (
        "its worker stopped inside lookup_order call call_old, before the run's saved state included that "
        "call; the run is not continued, so that the call cannot run twice"
    )
    assert demo_tools.EXECUTIONS == []
    assert _timeline(run)[-1] == ("status", "failed")


def test_run_left_by_an_older_version_between_steps_is_continued(operator, django_capture_on_commit_callbacks):
    run = _start(operator, "Look up order ord_100")
    long_ago = timezone.now() - timedelta(hours=1)
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, started_at=long_ago, updated_at=long_ago)

    assert _recover(django_capture_on_commit_callbacks) == 1

    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert demo_tools.EXECUTIONS == [{"tool": "lookup_order", "order_id": "ord_100"}]


@pytest.mark.django_db(transaction=True)
def test_two_recovery_passes_at_once_queue_the_run_once(monkeypatch):
    operator = make_user("o2")
    with monkeypatch.context() as patch:
        _dies_in_model_call(patch)
        with pytest.raises(WorkerKilled):
            _start(operator, "Look up order ord_100")  # committed, then executed at once (eager), and died
    run = Run.objects.get(started_by=operator)
    assert run.status == RunStatus.RUNNING
    # The worker died a minute ago: its heartbeat is moved back, not the passes' clock forward. A pass
    # an hour "later" would also see the heartbeat the winner's new worker has just written as stale.
    a_minute_ago = timezone.now() - timedelta(seconds=60)
    Run.objects.filter(pk=run.pk).update(heartbeat_at=a_minute_ago, updated_at=a_minute_ago)
    barrier, acted = threading.Barrier(2), []

    def recovery_pass():
        barrier.wait()
        try:
            acted.append(recover_stalled_runs())
        finally:
            connection.close()

    threads = [threading.Thread(target=recovery_pass) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    run.refresh_from_db()
    assert sorted(acted) == [0, 1]
    assert run.status == RunStatus.COMPLETED  # the winner's queued execution ran (eager Celery)
    assert run.events.filter(type="status", payload__detail=REQUEUED_DETAIL).count() == 1
    assert demo_tools.EXECUTIONS == [{"tool": "lookup_order", "order_id": "ord_100"}]
    _assert_seq_has_no_gap_or_duplicate(run)


@pytest.mark.django_db(transaction=True)
def test_worker_alive_inside_a_long_tool_keeps_its_run(monkeypatch, settings):
    """The heartbeat goes on while the worker sits in a slow tool, so recovery passes leave the run be."""
    settings.GOVERNANCE_RUN_HEARTBEAT_SECONDS = 1
    settings.GOVERNANCE_RUN_STALL_SECONDS = 3  # shorter than the tool: only the heartbeat keeps the run
    original, stop, acted = demo_tools.lookup_order, threading.Event(), []

    @functools.wraps(original)
    def slow_lookup(order_id: str):
        time.sleep(4.5)
        return original(order_id)

    def beat_passes():
        try:
            while not stop.wait(0.25):
                acted.append(recover_stalled_runs())
        finally:
            connection.close()

    monkeypatch.setattr(demo_tools, "lookup_order", slow_lookup)
    passes = threading.Thread(target=beat_passes)
    passes.start()
    try:
        run = _start(make_user("o3"), "Look up order ord_100")  # executed at once (eager Celery)
    finally:
        stop.set()
        passes.join()

    run.refresh_from_db()
    assert len(acted) >= 12 and set(acted) == {0}
    assert run.status == RunStatus.COMPLETED
    assert not run.events.filter(payload__detail=REQUEUED_DETAIL).exists()
