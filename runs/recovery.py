"""Recovery of runs whose worker died: queue them again, or re-send a resume that never ran.

A worker renews its run's `heartbeat_at` every few seconds while it drives it (runs/heartbeat.py).
`recover_stalled_runs`, called by beat every GOVERNANCE_RUN_RECOVERY_INTERVAL_SECONDS, looks for:

- runs `running` whose heartbeat is older than GOVERNANCE_RUN_STALL_SECONDS (or, with no heartbeat
  at all, whose last write and start are): a conditional UPDATE moves each back to `queued` and
  voids the old claim, so only one pass wins and a worker that merely looked dead can write
  nothing more; execution is queued after the commit and goes on from the run's last saved state;
- runs `awaiting_approval` whose pending calls were resolved (approved, denied, expired) longer ago
  than the stall window, with no resume since: their resume is queued again (it claims the run
  with a conditional UPDATE, so a duplicate does nothing);
- runs still `queued` GOVERNANCE_RUN_QUEUED_RESEND_SECONDS after their last change: their task may
  never have reached Redis (the web process died after the commit, or Redis restarted without
  persistence), so execution is queued again (a duplicate finds the run claimed and does nothing).

Remote agents' sessions (runs/remote.py) have no worker: recovery never touches them.

A stalled run is failed instead of queued again when it was queued again
GOVERNANCE_RUN_MAX_RECOVERIES times already, as counted by `Run.recoveries` (something kills every
worker that drives it, and retrying for ever would only grow its history), or when a tool call had
started that its saved state does not include (possible only for runs claimed before heartbeats
existed): the model would be asked again and could repeat the call under a new id, so the call
could run twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from approvals.models import ApprovalRequest
from approvals.services import deny_for_failed_run

from .event_log import append_denials, append_event
from .models import Run, RunOrigin, RunStatus, ToolExecution
from .queue import enqueue_execute, enqueue_resume
from .state_store import saved_call_ids

logger = logging.getLogger(__name__)

REQUEUED_DETAIL = "queued again: its worker stopped responding"
_BATCH = 100


def recover_stalled_runs(now: datetime | None = None) -> int:
    """Set going again every run a dead worker left behind. Returns how many runs were acted on."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.GOVERNANCE_RUN_STALL_SECONDS)
    count = 0
    for run_id in Run.objects.filter(_stalled(cutoff)).order_by("updated_at").values_list("pk", flat=True)[:_BATCH]:
        count += _requeue(run_id, cutoff)
    for run_id in _forgotten_resumes(cutoff):
        count += _resend_resume(run_id, cutoff)
    queued_cutoff = now - timedelta(seconds=settings.GOVERNANCE_RUN_QUEUED_RESEND_SECONDS)
    for run_id in Run.objects.driven().filter(status=RunStatus.QUEUED, updated_at__lt=queued_cutoff).values_list(
        "pk", flat=True
    )[:_BATCH]:
        count += _resend_execute(run_id, queued_cutoff)
    return count


def _resend_execute(run_id, cutoff: datetime) -> int:
    with transaction.atomic():
        # Touching updated_at is the claim: one resend per window, whatever the number of passes.
        changed = Run.objects.filter(pk=run_id, status=RunStatus.QUEUED, updated_at__lt=cutoff).update(
            updated_at=timezone.now()
        )
        if changed != 1:
            return 0
        enqueue_execute(run_id)
    logger.warning("run %s: still queued; its execution is queued again in case the task was lost", run_id)
    return 1


def _stalled(cutoff: datetime) -> Q:
    no_heartbeat_for_long = (
        Q(heartbeat_at__isnull=True)
        & Q(updated_at__lt=cutoff)
        & (Q(started_at__isnull=True) | Q(started_at__lt=cutoff))
    )
    # A remote session is running with no worker and no heartbeat: there is nothing to recover.
    return (Q(status=RunStatus.RUNNING, origin=RunOrigin.DASHBOARD)
            & (Q(heartbeat_at__lt=cutoff) | no_heartbeat_for_long))


def _requeue(run_id, cutoff: datetime) -> int:
    limit = settings.GOVERNANCE_RUN_MAX_RECOVERIES
    with transaction.atomic():
        earlier = Run.objects.values_list("recoveries", flat=True).get(pk=run_id)
        if earlier >= limit:
            return _fail(run_id, cutoff, f"its worker stopped responding {earlier + 1} times; it is not queued again")
        unrecorded = _started_calls_missing_from_state(run_id)
        if unrecorded:
            # Continuing would ask the model again, which names its calls anew: the call could run twice.
            return _fail(run_id, cutoff, (
                f"its worker stopped inside {unrecorded}, before the run's saved state included that call; "
                "the run is not continued, so that the call cannot run twice"
            ))
        # The claim: only if the run is still running with a stale heartbeat (a second pass, or a
        # worker that renewed it meanwhile, changes nothing).
        changed = Run.objects.filter(Q(pk=run_id) & _stalled(cutoff)).update(
            status=RunStatus.QUEUED, claim_id=None, recoveries=F("recoveries") + 1, updated_at=timezone.now()
        )
        if changed != 1:
            return 0
        append_event(run_id, "status", {"status": RunStatus.QUEUED, "detail": REQUEUED_DETAIL})
        enqueue_execute(run_id)
    logger.warning("run %s: its worker stopped responding; queued again", run_id)
    return 1


def _started_calls_missing_from_state(run_id) -> str:
    """Tool calls that began (ToolExecution `started`) but that the saved state does not ask for.

    Every call this version runs is saved in the state before it starts; a run claimed by an older
    version (no heartbeat) may have died inside a call its state never recorded.
    """
    started = list(ToolExecution.objects.filter(run_id=run_id, status=ToolExecution.Status.STARTED)
                   .values_list("tool", "call_id"))
    if not started:
        return ""
    known = saved_call_ids(run_id)
    return ", ".join(f"{tool} call {call_id}" for tool, call_id in started if call_id not in known)


def _fail(run_id, cutoff: datetime, error: str) -> int:
    now = timezone.now()
    changed = Run.objects.filter(Q(pk=run_id) & _stalled(cutoff)).update(
        status=RunStatus.FAILED, claim_id=None, error=error, finished_at=now, updated_at=now
    )
    if changed != 1:
        return 0
    append_denials(run_id, deny_for_failed_run(run_id, error=error))
    append_event(run_id, "status", {"status": RunStatus.FAILED, "detail": error})
    logger.error("run %s failed: %s", run_id, error)
    return 1


def _forgotten_resumes(cutoff: datetime) -> list:
    """Ids of paused runs with a call they still wait for that was resolved before the cutoff.

    Every paused run with some old resolution is looked at (only its list of pending calls is
    read): most are waiting for a reviewer on a later call, and a LIMIT could hide the few that
    are stuck behind them.
    """
    resolved_long_ago = ApprovalRequest.objects.resolved().filter(resolved_at__lt=cutoff)
    paused = Run.objects.driven().filter(
        status=RunStatus.AWAITING_APPROVAL, updated_at__lt=cutoff, pk__in=resolved_long_ago.values("run_id")
    ).values_list("pk", "state__pending")
    forgotten = []
    for run_id, pending in paused.iterator():
        waiting = {p.get("call_id") for p in pending or []}
        if waiting and resolved_long_ago.filter(run_id=run_id, call_id__in=waiting).exists():
            forgotten.append(run_id)
    return forgotten


def _resend_resume(run_id, cutoff: datetime) -> int:
    with transaction.atomic():
        # Touching updated_at is the claim: the next pass (or a concurrent one) skips this run
        # for a stall window, so a slow queue is not flooded with duplicate resumes.
        changed = Run.objects.filter(
            pk=run_id, status=RunStatus.AWAITING_APPROVAL, updated_at__lt=cutoff
        ).update(updated_at=timezone.now())
        if changed != 1:
            return 0
        enqueue_resume(run_id)
    logger.warning("run %s: a resolved approval was never applied; its resume is queued again", run_id)
    return 1
