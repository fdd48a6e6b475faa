"""Remote agents' sessions as runs: what happens to a run that no worker drives.

A remote agent's session (`agents` decides which requests belong to one) is a `Run` with origin
`remote`: no prompt, model or runner state, never claimed by a worker or recovery. Its timeline is
what the agent sent and what the dashboard answered, appended through `runs.event_log` like any
other run's events (so pages update live and the audit records each once). Its status:

- `running` while the session is open: it never completes by itself, since an agent can always
  send another call; an outcome report is one more event on the timeline, not an end;
- `awaiting_approval` while one of its calls waits for a reviewer, `running` again once none does;
- `cancelled` by a person from the run's page (`runs.commands.cancel_run`): its pending requests are
  denied in their name and the agent's later calls in that session are blocked, naming them.

Every function here is called inside the caller's transaction.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from approvals.models import ApprovalRequest

from .event_log import append_event
from .models import Run, RunOrigin, RunStatus

# Event types of remote runs (templates/runs/_event.html shows them; audit.recorders records the
# first three, the resolution's record is written by approvals when it resolves).
DECISION = "remote_decision"
OUTCOME = "remote_outcome"
MEMORY = "remote_memory"
RESOLVED = "approval_resolved"


def open_session(*, agent: str, actor: str, session: str, started_by_id: int | None = None) -> Run:
    """A new remote run for an agent's session, running from now.

    Side effects: the Run row and its first `status` event (with its audit record and live nudge).
    """
    now = timezone.now()
    run = Run.objects.create(origin=RunOrigin.REMOTE, status=RunStatus.RUNNING, agent=agent, actor=actor,
                             session=session, started_by_id=started_by_id, prompt="", model="", started_at=now)
    append_event(run.pk, "status", {"status": RunStatus.RUNNING,
                                    "detail": f"remote session {session} of {agent} (actor {actor}) opened"})
    return run


def locked(run_id) -> Run:
    """The remote run, its row locked until the transaction ends: a cancel waits for the call being
    recorded (and so denies the request it raises), or that call sees the cancel."""
    # of=("self",): PostgreSQL locks no row of the outer-joined (nullable) canceller.
    runs = Run.objects.select_for_update(of=("self",)).select_related("cancelled_by")
    return runs.get(pk=run_id, origin=RunOrigin.REMOTE)


def refusal(run: Run) -> str | None:
    """Why the session takes no more calls, or None while it does."""
    if run.status != RunStatus.CANCELLED:
        return None
    who = run.cancelled_by.get_username() if run.cancelled_by_id else "someone"
    return f"session cancelled by {who}"


def await_approval(run: Run, *, tool: str, approval_id: int) -> None:
    """A call of the session waits for a reviewer: running -> awaiting_approval (once, however many wait).

    Side effects: the status and its `status` event, if the run was running.
    """
    if Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(status=RunStatus.AWAITING_APPROVAL):
        append_event(run.pk, "status", {"status": RunStatus.AWAITING_APPROVAL,
                                        "detail": f"{tool} waits for a reviewer (request #{approval_id})"})


def record_resolution(approval) -> None:
    """A request of a remote run was resolved (a reviewer, or expiry): show it on the timeline, and
    the session runs again once none of its calls waits.

    Side effects: an `approval_resolved` event, in the resolution's transaction; after its commit, in a
    transaction of its own, the status back to running with its event when no request of the run is
    pending any more. Not in the resolution's transaction: it holds the request's row, and a cancel
    holds the run's and then waits for the request's, so writing the run there could deadlock.
    """
    append_event(approval.run_id, RESOLVED, {
        "approval_id": approval.pk, "tool": approval.tool, "status": approval.status, "outcome": approval.outcome,
        "comment": approval.comment,
    })
    detail = f"no call waits any more: {approval.tool} {approval.outcome}"
    transaction.on_commit(lambda: _running_again(approval.run_id, detail))


def _running_again(run_id, detail: str) -> None:
    with transaction.atomic():
        # The run's row first, as an evaluation takes it: one raising a request meanwhile is seen.
        if not Run.objects.select_for_update().filter(pk=run_id, status=RunStatus.AWAITING_APPROVAL).exists():
            return
        if ApprovalRequest.objects.filter(run_id=run_id).pending().exists():
            return
        Run.objects.filter(pk=run_id).update(status=RunStatus.RUNNING)
        append_event(run_id, "status", {"status": RunStatus.RUNNING, "detail": detail})
