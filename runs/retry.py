"""Retrying a failed run: a NEW run with the same prompt, model and tools.

The failed run is left as it is (its state, events, tool executions and audit history stay its
own); the new run starts from nothing through `start_run`, is started by whoever clicked, and its
first status event says "retry of run <short id> by <user>" and carries `retry_of` (the failed
run's id). Whoever may cancel a run may retry it.

A failed run is retried at most once: a double click, or two people clicking, must not start two
agents that could each refund a customer. The failed run's row is locked while the earlier retry
is looked for and the new run is created, so the second click finds the first one's run.
"""

from __future__ import annotations

from django.db import transaction

from .models import Run, RunEvent, RunStatus
from .services import RunInputError, can_cancel, start_run


class RetryRefused(Exception):
    """The run cannot be retried (not failed, not allowed, already retried); the message says why."""


def short_id(run: Run) -> str:
    return str(run.pk)[:8]


def can_retry(user, run: Run) -> bool:
    return run.status == RunStatus.FAILED and can_cancel(user, run)


def retried_as(run: Run) -> Run | None:
    """The run started as this run's retry, if any."""
    event = (
        RunEvent.objects.filter(run__created_at__gte=run.created_at, seq=1, type="status",
                                payload__retry_of=str(run.pk))
        .select_related("run")
        .first()
    )
    return event.run if event else None


def run_actions(user, run: Run) -> dict:
    """What the run's status section offers this user; the page and its live updates use the same."""
    earlier = retried_as(run) if run.status == RunStatus.FAILED else None
    return {
        "can_cancel": not run.is_final and can_cancel(user, run),
        "can_retry": earlier is None and can_retry(user, run),
        "retried_as": earlier,
    }


def retry_run(*, run: Run, user) -> Run:
    """Start a new run with the failed run's prompt, model and tools; returns the new run.

    Side effects: those of `start_run` (a queued Run, its first status event and audit record, the
    execute task after commit). Raises RetryRefused, creating nothing, if the user may not retry
    the run, it is not failed, it was retried already, or its tools are no longer all enabled.
    """
    if not can_cancel(user, run):
        raise RetryRefused("You may not retry this run: only whoever started it, reviewers and staff may.")
    with transaction.atomic():
        run = Run.objects.select_for_update().get(pk=run.pk)
        if run.status != RunStatus.FAILED:
            raise RetryRefused(f"Only a failed run can be retried; this one is {run.get_status_display().lower()}.")
        earlier = retried_as(run)
        if earlier is not None:
            raise RetryRefused(f"This run was already retried as run {short_id(earlier)}.")
        try:
            return start_run(
                user=user, prompt=run.prompt, model=run.model,
                tool_names=list(run.tools.values_list("name", flat=True)),
                first_event={"detail": f"retry of run {short_id(run)} by {user.get_username()}",
                             "retry_of": str(run.pk)},
            )
        except RunInputError as exc:
            raise RetryRefused(f"This run cannot be retried as it was: {exc}") from exc
