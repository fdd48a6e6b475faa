"""Celery tasks for runs: thin wrappers that call one function each; they sit on top of the app.

`execute_run` and `resume_run` take a run id; `recover_stalled_runs` is sent by beat (see
CELERY_BEAT_SCHEDULE) and queues again the runs whose worker died. Others enqueue them by name
(`runs.queue`), so no module below this one imports it.
"""

from __future__ import annotations

from celery import shared_task

from . import recovery, worker
from .queue import EXECUTE_RUN, RECOVER_STALLED_RUNS, RESUME_RUN


@shared_task(name=EXECUTE_RUN)
def execute_run(*, run_id: str) -> None:
    worker.execute_run(run_id=run_id)


@shared_task(name=RESUME_RUN)
def resume_run(*, run_id: str) -> None:
    worker.resume_run(run_id=run_id)


@shared_task(name=RECOVER_STALLED_RUNS)
def recover_stalled_runs() -> int:
    return recovery.recover_stalled_runs()
