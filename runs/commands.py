"""What people do to runs: start one, cancel one, retry a failed one, and which of these a page offers
(with what its kill switch offers to pause).

Each command is a keyword-argument function listing its side effects; views and consumers call them
and stay thin. Who may do what is answered by `governance.permissions`; driving a run once it is
queued is the worker's job (runs/worker.py).

A retry is a NEW run with the failed run's prompt, model and tools, started from scratch by whoever
clicked; the failed run is left as it is. A failed run is retried at most once: a double click, or
two people clicking, must not start two agents that could each refund a customer. The failed run's
row is locked while the earlier retry is looked for and the new run is created, so the second click
finds the first one's run.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals.services import deny_for_cancelled_run
from governance import pauses, permissions
from governance.field_errors import FieldError
from governance.model_names import model_name_problem
from governance.models import DASHBOARD_ACTOR, ToolRegistration

from .event_log import append_denials, append_event
from .models import FINAL_STATUSES, Run, RunStatus
from .queue import enqueue_execute


class RunInputError(FieldError):
    """Bad input for a new run; `field` names the form field to show it on."""


class RetryRefused(Exception):
    """The run cannot be retried (not failed, not allowed, already retried); the message says why."""


def start_run(*, user, prompt: str, model: str, tool_names: list[str], retry_of: Run | None = None) -> Run:
    """Create a queued run and enqueue its execution.

    Side effects: a Run row with its tools, a `status` event "queued by <user>" (a retry's says "retry
    of run <short id> by <user>") with its audit record, the execute task after commit. Raises
    RunInputError for an empty or oversized prompt, a model name that is not offered (or is
    malformed), or unknown tools, and IntegrityError if `retry_of` was retried already.
    """
    prompt = (prompt or "").strip()
    if not prompt:
        raise RunInputError("prompt", "Write a prompt for the agent.")
    limit = settings.GOVERNANCE_MAX_PROMPT_CHARS
    if len(prompt) > limit:
        raise RunInputError("prompt", f"The prompt is {len(prompt)} characters; the limit is {limit}.")
    model = (model or "").strip()
    if (problem := model_name_problem(model)) is not None:
        raise RunInputError("model", problem)
    names = sorted(set(tool_names))
    tools = list(ToolRegistration.objects.filter(enabled=True, name__in=names))
    if not names:
        raise RunInputError("tools", "Choose at least one tool for the agent.")
    if len(tools) != len(names):
        missing = sorted(set(names) - {t.name for t in tools})
        raise RunInputError("tools", f"These tools are not registered or are disabled: {', '.join(missing)}.")
    with transaction.atomic():
        run = Run.objects.create(started_by=user, prompt=prompt, model=model, retry_of=retry_of)
        run.tools.set(tools)
        detail = f"retry of run {short_id(retry_of)}" if retry_of else "queued"
        append_event(run.pk, "status", {"status": RunStatus.QUEUED, "detail": f"{detail} by {user.get_username()}"})
        enqueue_execute(run.pk)
    return run


def cancel_run(*, run: Run, user) -> bool:
    """Cancel a run that is not final yet. Returns False if it already ended or the user may not.

    Side effects: status CANCELLED and who cancelled it; its pending approval requests denied in the
    user's name, each with its timeline entry; a `status` event. A worker driving the run stops at its
    next step; a remote session refuses its agent's later calls, naming the user (runs/remote.py).
    """
    if not permissions.may_cancel_run(user, run):
        return False
    with transaction.atomic():
        changed = (
            Run.objects.filter(pk=run.pk)
            .exclude(status__in=FINAL_STATUSES)
            .update(status=RunStatus.CANCELLED, finished_at=timezone.now(), cancelled_by=user)
        )
        if changed != 1:
            return False
        append_denials(run.pk, deny_for_cancelled_run(run.pk, cancelled_by=user))
        append_event(run.pk, "status", {"status": RunStatus.CANCELLED, "detail": f"cancelled by {user.get_username()}"})
    return True


def short_id(run: Run) -> str:
    return str(run.pk)[:8]


def retried_as(run: Run) -> Run | None:
    """The run started as this run's retry, if any."""
    return Run.objects.filter(retry_of=run).first()


def retry_run(*, run: Run, user) -> Run:
    """Start a new run with the failed run's prompt, model and tools; returns the new run.

    Side effects: those of `start_run` (a queued Run, its first status event and audit record, the
    execute task after commit); its first event says "retry of run <short id> by <user>". Raises
    RetryRefused, creating nothing, if the user may not retry the run, it is not failed, it was
    retried already, or its tools are no longer all enabled.
    """
    if not permissions.may_retry_run(user, run):
        raise RetryRefused("You may not retry this run: only whoever started it and reviewers may.")
    with transaction.atomic():
        run = Run.objects.select_for_update().get(pk=run.pk)
        if run.status != RunStatus.FAILED:
            raise RetryRefused(f"Only a failed run can be retried; this one is {run.get_status_display().lower()}.")
        earlier = retried_as(run)
        if earlier is not None:
            raise RetryRefused(f"This run was already retried as run {short_id(earlier)}.")
        try:
            return start_run(user=user, prompt=run.prompt, model=run.model, tool_names=run.tool_names(),
                             retry_of=run)
        except RunInputError as exc:
            raise RetryRefused(f"This run cannot be retried as it was: {exc}") from exc
        except IntegrityError as exc:  # a retry committed between the check and the insert
            raise RetryRefused(f"This run was already retried as run {short_id(retried_as(run))}.") from exc


def offered(user, run: Run) -> dict[str, Any]:
    """What the run's status section offers this user; the page and its live updates use the same."""
    retry = retried_as(run) if run.status == RunStatus.FAILED else None
    return {
        "can_cancel": not run.is_final and permissions.may_cancel_run(user, run),
        "can_retry": retry is None and run.status == RunStatus.FAILED and permissions.may_retry_run(user, run),
        "retried_as": retry,
    }


def pause_targets(run: Run) -> list[tuple[str, str]]:
    """What the run page's kill switch offers to pause, as (scope, value): the run's tools, the actors and
    domains its calls are decided as, and everything. A remote session: its actor, and everything."""
    if run.is_remote:
        return [("actor", run.actor), ("everything", "")]
    tools = list(run.tools.all())
    return [*(("tool", tool.name) for tool in tools),
            *(("actor", actor) for actor in sorted({tool.actor or DASHBOARD_ACTOR for tool in tools})),
            *(("domain", domain) for domain in sorted({tool.domain for tool in tools})),
            ("everything", "")]


def kill_switch(user, run: Run) -> dict[str, Any]:
    """The run page's pause banner and, for those who may pause, its buttons."""
    shown = pauses.shown_to(user)
    return {**shown, "pause_targets": pause_targets(run) if shown["may_pause"] else []}
