"""Replays as jobs: start one for a draft of the policy set, run it (what the Celery task calls), save its
progress, cancel it. The replay itself is governance/replay.py; its findings governance/findings.py.

`start` enqueues the Celery task `governance.run_replay` by its name once the transaction commits (as
runs/queue.py does), so this module never imports governance/tasks.py, the door on top of it;
`GovernanceConfig.ready()` registers the task in every process, so it also runs inline when Celery is
eager (the tests).

A job moves queued → running → done | cancelled | failed. `run` claims a queued job with a conditional
update, so a second delivery of the task is harmless; a cancel before it runs finishes it at once, a
cancel while it runs is read by the progress callback, which makes the replay stop at its next chunk.
A running job saves a heartbeat with its progress (every chunk, at most every PROGRESS_INTERVAL); one
silent for STALE_AFTER lost its worker: a redelivered task claims it again, and a cancel finishes it at
once. The claim's time (`started_at`) is the running worker's token: a worker whose job was claimed again
or cancelled stops at its next chunk and saves nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from celery import current_app
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import findings, replay, versions
from .models import DecisionInput, ReplayJob

logger = logging.getLogger(__name__)

RUN_REPLAY = "governance.run_replay"
DEFAULT_DAYS = 30
MAX_DAYS = 365
# The progress of a running job is written at most this often (and on the first and last chunk);
# a cancel is therefore seen within this time plus one chunk.
PROGRESS_INTERVAL = 0.25
# A running job whose progress was not saved for this long lost its worker (progress is saved every chunk
# of 2,000 decisions: 0.2 s at the replay's goal of 100,000 in 10 s, docs/benchmarks.md).
STALE_AFTER = timedelta(seconds=60)
# A save replays the saved set inline, for its findings, when the window holds at most this many decisions.
INLINE_MAX = 5_000


def start(*, draft: dict, label: str, days: int = DEFAULT_DAYS, by: Any) -> ReplayJob:
    """Create a queued replay of `draft` (a snapshot) over the last `days` days, started by `by` (a user).

    Side effects: one `ReplayJob` row; the task `governance.run_replay` enqueued after the current
    transaction commits (run inline when Celery is eager). Raises ValueError for days outside 1-365.
    """
    job = _create(draft=draft, label=label, days=days, by=by)
    transaction.on_commit(lambda: current_app.signature(RUN_REPLAY, kwargs={"job_id": job.pk}).delay())
    return job


def replay_saved(*, label: str, by: Any, days: int = DEFAULT_DAYS) -> ReplayJob:
    """Replay the policy set as it is now (just saved) over the last `days` days, for its findings: inline
    when the window holds at most INLINE_MAX decisions (about a second), so the findings are there when the
    page after the save is shown; otherwise as a job like `start`. Side effects: those of `start`."""
    if DecisionInput.objects.filter(occurred_at__gte=timezone.now() - timedelta(days=days)).count() > INLINE_MAX:
        return start(draft=versions.snapshot(), label=label, days=days, by=by)
    job = _create(draft=versions.snapshot(), label=label, days=days, by=by)
    return run(job_id=job.pk) or job


def _create(*, draft: dict, label: str, days: int, by: Any) -> ReplayJob:
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"Replay between 1 and {MAX_DAYS} days, not {days}.")
    return ReplayJob.objects.create(created_by=by if getattr(by, "pk", None) else None,
                                    created_by_name=getattr(by, "get_username", lambda: "system")(),
                                    label=label[:200], draft=draft, days=days)


def cancel(job: ReplayJob, *, by: Any) -> ReplayJob:
    """Ask the job to stop. A queued job is cancelled at once (its task then does nothing), and so is a
    running one whose worker died (`is_stale`); a running one stops at its next chunk, keeping what it
    counted; a finished one is left as it is. Returns it re-read."""
    ReplayJob.objects.filter(pk=job.pk).exclude(status__in=ReplayJob.FINISHED).update(cancel_requested=True)
    ReplayJob.objects.filter(Q(status=ReplayJob.Status.QUEUED) | _stale(), pk=job.pk).update(
        status=ReplayJob.Status.CANCELLED, finished_at=timezone.now())
    logger.info("replay %s: cancel asked by %s", job.pk, getattr(by, "get_username", lambda: "system")())
    job.refresh_from_db()
    return job


def _stale() -> Q:
    """Running jobs whose worker died: no progress saved for STALE_AFTER (rows from before the heartbeat
    have only their start)."""
    before = timezone.now() - STALE_AFTER
    return Q(status=ReplayJob.Status.RUNNING) & (
        Q(heartbeat_at__lt=before) | Q(heartbeat_at__isnull=True, started_at__lt=before))


def is_stale(job: ReplayJob) -> bool:
    """Whether the job is running with no progress saved for STALE_AFTER (its worker died)."""
    beat = job.heartbeat_at or job.started_at
    return job.status == ReplayJob.Status.RUNNING and beat is not None and beat < timezone.now() - STALE_AFTER


def progress_callback(job_id: int, *, interval: float = PROGRESS_INTERVAL,
                      claimed_at: Any = None) -> Callable[[int, int], bool]:
    """The `progress(done, total)` given to `replay.replay`: saves done/total and the heartbeat on the job
    (at most every `interval` seconds, and always at the end) and answers False once a cancel was asked
    (read from the database, so a cancel from another process is seen) or, given `claimed_at` (the claim's
    `started_at`), once the job was claimed again or finished by a cancel."""
    last = -float("inf")
    mine = Q(pk=job_id, cancel_requested=False)
    if claimed_at is not None:
        mine &= Q(status=ReplayJob.Status.RUNNING, started_at=claimed_at)

    def progress(done: int, total: int) -> bool:
        nonlocal last
        now = time.monotonic()
        if now - last < interval and done < total:
            return True
        last = now
        # One query: the update matches nothing once a cancel was asked.
        return bool(ReplayJob.objects.filter(mine).update(done=done, total=total, heartbeat_at=timezone.now()))

    return progress


def run(*, job_id: int) -> ReplayJob | None:
    """Run the job `job_id`, queued or running with a dead worker (`is_stale`; then from the start): replay
    its draft, then save the result and the findings (done), what it counted before a cancel (cancelled),
    or the error (failed: logged too, never lost). Returns the job, or None when it is gone, finished, or
    running in a live worker (cancelled before it ran, or claimed by another delivery).

    Inside a transaction (a save in the admin: `replay_saved`) the replay runs in a savepoint, so an SQL
    error in it (a statement timeout) is rolled back to there and stored on the job, and the transaction
    goes on; outside one, its progress is committed as it goes, for the panel and a cancel to see."""
    now = timezone.now()
    # A dead worker's job whose cancel was asked is finished, not run again.
    ReplayJob.objects.filter(_stale(), pk=job_id, cancel_requested=True).update(
        status=ReplayJob.Status.CANCELLED, finished_at=now)
    claimed = ReplayJob.objects.filter(Q(status=ReplayJob.Status.QUEUED) | (_stale() & Q(cancel_requested=False)),
                                       pk=job_id).update(status=ReplayJob.Status.RUNNING, started_at=now,
                                                         heartbeat_at=now, done=0)
    if not claimed:
        return None
    job = ReplayJob.objects.get(pk=job_id)
    mine = ReplayJob.objects.filter(pk=job.pk, status=ReplayJob.Status.RUNNING, started_at=now)
    in_transaction = transaction.get_connection().in_atomic_block
    try:
        with transaction.atomic() if in_transaction else nullcontext():
            result = replay.replay(job.draft, days=job.days, progress=progress_callback(job.pk, claimed_at=now))
            found = [] if result.cancelled else [asdict(f) for f in findings.findings(job.draft, result)]
    except Exception as exc:
        logger.exception("replay %s failed", job.pk)
        mine.update(status=ReplayJob.Status.FAILED, finished_at=timezone.now(), error=f"{type(exc).__name__}: {exc}")
    else:
        mine.update(
            status=ReplayJob.Status.CANCELLED if result.cancelled else ReplayJob.Status.DONE,
            finished_at=timezone.now(), result=result.to_dict(), findings=found, done=result.total,
            total=result.total if not result.cancelled else job_total(job.pk, result.total))
    job.refresh_from_db()
    return job


def job_total(job_id: int, counted: int) -> int:
    """The total a cancelled job had announced (its progress), at least what it counted."""
    total = ReplayJob.objects.filter(pk=job_id).values_list("total", flat=True).first()
    return max(total or 0, counted)


def result_of(job: ReplayJob) -> replay.ReplayResult | None:
    """The job's result as a `ReplayResult` (None until it finished with one)."""
    return replay.ReplayResult.from_dict(job.result) if job.result is not None else None
