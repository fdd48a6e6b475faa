"""Queueing the runs' Celery tasks, after the current transaction commits, by their names.

The commands, the worker, recovery and the approval receiver enqueue; `runs.tasks`, on top, defines
the tasks and calls the worker. Sending by the registered name keeps that one direction: nothing
below tasks.py imports it. A registered task still runs inline under `task_always_eager` (the tests),
which is why `RunsConfig.ready()` imports tasks.py in every process, not only in Celery workers.
"""

from __future__ import annotations

from celery import current_app
from django.db import transaction

EXECUTE_RUN = "runs.execute_run"
RESUME_RUN = "runs.resume_run"
RECOVER_STALLED_RUNS = "runs.recover_stalled_runs"


def enqueue_execute(run_id) -> None:
    """Enqueue the run's execution once the current transaction commits."""
    transaction.on_commit(lambda: _send(EXECUTE_RUN, run_id))


def enqueue_resume(run_id) -> None:
    """Enqueue the run's resume once the current transaction commits."""
    transaction.on_commit(lambda: _send(RESUME_RUN, run_id))


def _send(task_name: str, run_id) -> None:
    current_app.signature(task_name, kwargs={"run_id": str(run_id)}).delay()
