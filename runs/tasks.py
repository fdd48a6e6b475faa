"""Celery tasks for runs: thin wrappers that take a run id and call one service function."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from . import services


@shared_task(name="runs.execute_run")
def execute_run(*, run_id: str) -> None:
    services.execute_run(run_id=run_id)


@shared_task(name="runs.resume_run")
def resume_run(*, run_id: str) -> None:
    services.resume_run(run_id=run_id)


def enqueue_execute(run_id) -> None:
    """Enqueue the run's execution once the current transaction commits."""
    transaction.on_commit(lambda: execute_run.delay(run_id=str(run_id)))


def enqueue_resume(run_id) -> None:
    """Enqueue the run's resume once the current transaction commits."""
    transaction.on_commit(lambda: resume_run.delay(run_id=str(run_id)))
