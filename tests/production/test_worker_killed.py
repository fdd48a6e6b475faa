"""kill -9 a Celery worker in the middle of runs, with real processes: after a new worker starts,
every run reaches a final state within bounds, every tool was invoked at most once (exactly once
for calls that were approved or allowed and not interrupted), and no run's event `seq` has a gap
or a duplicate. The audit chain stays intact."""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter

import pytest

from devtools.production import PYTHON, ROOT
from tests.production.helpers import stack_recording_tool_calls, start_run, wait_for

pytestmark = pytest.mark.production


def tool_calls(log) -> Counter:
    if not log.exists():
        return Counter()
    return Counter((entry["tool"], entry.get("order_id")) for entry in map(json.loads, log.read_text().splitlines()))


def assert_event_logs_whole(stack) -> None:
    for run_id, seqs in stack.sql("SELECT run_id, array_agg(seq ORDER BY seq) FROM runs_runevent GROUP BY run_id"):
        assert seqs == list(range(1, len(seqs) + 1)), (run_id, seqs)


def assert_audit_intact(stack) -> None:
    done = subprocess.run([PYTHON, "manage.py", "verify_audit"], cwd=ROOT, env=stack.env, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def final_statuses(stack, run_ids) -> dict:
    rows = stack.sql("SELECT id::text, status FROM runs_run WHERE id::text = ANY(%s)", [run_ids])
    return dict(rows)


def test_worker_killed_during_tool_calls(make_stack, tmp_path):
    log = tmp_path / "tools.log"
    stack = stack_recording_tool_calls(make_stack, log=log, seconds=2, workers=1)
    operator = stack.login("operator", "operator-demo")
    run_ids = [start_run(stack, operator, f"Look up ord_k{i}", ["lookup_order"]) for i in range(3)]
    wait_for(lambda: stack.sql("SELECT 1 FROM runs_toolexecution WHERE status = 'started'"), 60,
             "a tool call to be in progress")
    killed_at = time.monotonic()
    stack.kill("worker1")
    interrupted = {run for (run,) in stack.sql("SELECT id::text FROM runs_run WHERE status = 'running'")}
    assert interrupted, "the killed worker was driving a run"
    stack.start_worker("worker2")

    def back_in_progress():
        taken_over = stack.sql("SELECT DISTINCT run_id::text FROM runs_runevent WHERE type = 'status' AND "
                               "payload->>'detail' LIKE '%%took the run over%%'")
        return {r for (r,) in taken_over} >= interrupted
    wait_for(back_in_progress, 30, "the interrupted run to be taken over by the new worker")
    assert time.monotonic() - killed_at <= 30

    wait_for(lambda: set(final_statuses(stack, run_ids).values()) <= {"completed"} and
             len(final_statuses(stack, run_ids)) == 3, 90, "every run to complete")
    calls = tool_calls(log)
    assert all(count == 1 for count in calls.values()), calls  # nothing ran twice
    succeeded = stack.sql("SELECT count(*) FROM runs_toolexecution WHERE status = 'succeeded'")[0][0]
    assert succeeded >= 2 and sum(calls.values()) == succeeded + len(interrupted)
    assert_event_logs_whole(stack)
    assert_audit_intact(stack)


def test_worker_killed_while_resumes_are_queued(make_stack, tmp_path):
    log = tmp_path / "tools.log"
    stack = stack_recording_tool_calls(make_stack, log=log, seconds=1, workers=1)
    operator, reviewer = stack.login("operator", "operator-demo"), stack.login("reviewer", "reviewer-demo")
    run_ids = [start_run(stack, operator, f"Refund order ord_q{i} for 250", ["refund_payment"]) for i in range(4)]
    wait_for(lambda: stack.sql("SELECT count(*) FROM approvals_approvalrequest")[0][0] == 4, 60,
             "four approval requests")
    approvals = [a for (a,) in stack.sql("SELECT id FROM approvals_approvalrequest ORDER BY id")]
    for approval_id in approvals:  # the first resume starts on the worker; the rest wait in Redis
        token = stack.csrf(reviewer, f"/approvals/{approval_id}/")
        assert reviewer.post(f"/approvals/{approval_id}/", data={"resolution": "approved",
                                                                 "csrfmiddlewaretoken": token}).status_code == 200
    wait_for(lambda: stack.sql("SELECT 1 FROM runs_toolexecution WHERE status = 'started'"), 30,
             "a refund to be in progress")
    stack.kill("worker1")
    stack.start_worker("worker2")
    wait_for(lambda: list(final_statuses(stack, run_ids).values()) == ["completed"] * 4, 90,
             "every run to complete")
    calls = tool_calls(log)
    assert sorted(order for _tool, order in calls) == [f"ord_q{i}" for i in range(4)]  # each refund once
    assert all(count == 1 for count in calls.values()), calls
    assert_event_logs_whole(stack)
    assert_audit_intact(stack)
