"""Celery tasks for governance: the replay of a draft of the policy set (governance/replay_jobs.py, which
enqueues it by this name; GovernanceConfig.ready() registers it in every process)."""

from __future__ import annotations

from celery import shared_task

from . import replay_jobs


@shared_task(name=replay_jobs.RUN_REPLAY)
def run_replay(*, job_id: int) -> None:
    replay_jobs.run(job_id=job_id)
