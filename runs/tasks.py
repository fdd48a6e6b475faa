"""Celery tasks for runs: thin wrappers that call one service function each.

`execute_run` and `resume_run` take a run id; `recover_stalled_runs` is sent by beat (see
CELERY_BEAT_SCHEDULE) and queues again the runs whose worker died.
"""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from . import recovery, services


@shared_task(name="runs.execute_run")
def execute_run(*, run_id: str) -> None:
    services.execute_run(run_id=run_id)


@shared_task(name="runs.resume_run")
def resume_run(*, run_id: str) -> None:
    services.resume_run(run_id=run_id)


@shared_task(name="runs.recover_stalled_runs")
def recover_stalled_runs() -> int:
    return recovery.recover_stalled_runs()


def enqueue_execute(run_id) -> None:
    """Enqueue the run's execution once the current transaction commits."""
    transaction.on_commit(lambda: execute_run.delay(run_id=str(run_id)))


def enqueue_resume(run_id) -> None:
    """Enqueue the run's resume once the current transaction commits."""
    transaction.on_commit(lambda: resume_run.delay(run_id=str(run_id)))
