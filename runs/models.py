"""Runs and their append-only event log.

A `Run` is one agent conversation governed by policy: started in the dashboard and driven by its
worker (`origin` dashboard), or one session of a remote agent whose calls the API decides (`origin`
remote, see runs/remote.py: no prompt, model, state or worker). The guarded runner's `RunState` is
saved after every step (and before every tool call), so any worker can pick a paused run up after a
restart, or continue one whose worker died: its conversation items and execution events as
append-only `RunStateEntry` rows, the small rest in the run's `state` column (runs/state_store.py).
`RunEvent` rows are the run's history, numbered by `seq` without gaps; `ToolExecution` is the
claim that makes a tool run at most once per (run, call id), whatever redelivers the task.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef
from django.urls import reverse

from governance import observe, permissions


class RunStatus(models.TextChoices):
    """Where a run stands, in the dashboard's words.

    The runner has its own (`RunState.status`: "approval_required", ...), which `for_runner` maps
    here, the one place the two meet. The other words for waiting belong to other things: a
    decision's outcome "requires_approval" (the policy's verdict) and a request's "pending".
    """

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"

    @classmethod
    def for_runner(cls, state_status: str) -> RunStatus:
        """The status of a run whose runner stopped with `state_status`; anything unexpected is a failure."""
        return _FOR_RUNNER.get(state_status, cls.FAILED)


_FOR_RUNNER = {"approval_required": RunStatus.AWAITING_APPROVAL, "completed": RunStatus.COMPLETED,
               "failed": RunStatus.FAILED}
FINAL_STATUSES = (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED)

# A settled call's status (an `execution_event`'s, in the runner's words) -> the run's column counting
# it. "approval_required" is not settled: the same call comes back executed, denied, expired or blocked.
CALL_COUNT_COLUMNS = {"executed": "calls_executed", "blocked": "calls_blocked", "denied": "calls_denied",
                      "expired": "calls_expired", "tool_error": "calls_failed"}
_NOT_DONE_COLUMNS = ("calls_denied", "calls_expired", "calls_blocked", "calls_failed")
# How a count reads on the badge and the run page: (one, more than one).
_CALL_WORDS = {"calls_executed": ("done", "done"), "calls_denied": ("denied", "denied"),
               "calls_expired": ("expired", "expired"), "calls_blocked": ("blocked", "blocked"),
               "calls_failed": ("tool error", "tool errors")}


class CallsOutcome(models.TextChoices):
    """What happened to a run's calls, as the runs list filters by it (`RunQuerySet.with_outcome`)."""

    CLEAN = "clean", "every call done"
    BLOCKED = "blocked", "a call blocked"
    DENIED = "denied", "a call denied"
    EXPIRED = "expired", "a call's review expired"
    FAILED = "failed", "a call failed (tool error)"


class RunOrigin(models.TextChoices):
    """Who drives the run: the dashboard's worker, or a remote agent calling the API (runs/remote.py)."""

    DASHBOARD = "dashboard", "Dashboard"
    REMOTE = "remote", "Remote agent"


class RunQuerySet(models.QuerySet):
    def with_observe_only(self) -> RunQuerySet:
        """Each run annotated `observe_only`: whether one of its tools is in an observe-only domain
        (governance/observe.py); a subquery, no query of its own."""
        observed = observe.observe_only_defaults().values("domain")
        tools = self.model.tools.through.objects.filter(run_id=OuterRef("pk"), toolregistration__domain__in=observed)
        return self.annotate(observe_only=Exists(tools))

    def visible_to(self, user) -> RunQuerySet:
        """The runs the user may see (governance.permissions)."""
        return self.filter(permissions.visible_runs(user))

    def with_origin(self, origin: str) -> RunQuerySet:
        """The runs of one `RunOrigin` ("" for any)."""
        return self.filter(origin=origin) if origin else self

    def driven(self) -> RunQuerySet:
        """Runs the dashboard's worker drives (not remote agents' sessions, which no worker touches)."""
        return self.filter(origin=RunOrigin.DASHBOARD)

    def with_outcome(self, outcome: str) -> RunQuerySet:
        """The runs whose calls had `outcome` (a `CallsOutcome`; "" for any): "clean" is no call blocked,
        denied, expired or failed, the others at least one call so."""
        if not outcome:
            return self
        if outcome not in CallsOutcome.values:
            raise ValueError(f"unknown outcome {outcome!r}: one of {', '.join(CallsOutcome.values)}")
        if outcome == CallsOutcome.CLEAN:
            return self.filter(**{column: 0 for column in _NOT_DONE_COLUMNS})
        return self.filter(**{f"calls_{outcome}__gt": 0})

    def active(self) -> RunQuerySet:
        return self.exclude(status__in=FINAL_STATUSES)

    def held_by(self, run_id, claim_id, *, running: bool = False) -> RunQuerySet:
        """The run, if the worker's claim still holds it (writes conditional on this do nothing once the
        run was taken over). `running=True` also wants it still running: not cancelled meanwhile."""
        held = self.filter(pk=run_id, claim_id=claim_id)
        return held.filter(status=RunStatus.RUNNING) if running else held


class Run(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # A remote session's run names the person answerable for its agent's key (an approver key's user,
    # else whoever created the key), or nobody: then only reviewers and holders of runs.view_run see it.
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="runs")
    origin = models.CharField(
        max_length=10, choices=RunOrigin.choices, default=RunOrigin.DASHBOARD, db_index=True,
        help_text="dashboard: started here and driven by a worker; remote: one session of an agent that runs "
        "elsewhere, whose decisions the API made.",
    )
    agent = models.CharField(max_length=100, blank=True, help_text="Remote runs: the name of the agent's API key.")
    actor = models.CharField(max_length=150, blank=True, help_text="Remote runs: the actor the agent acts as.")
    session = models.CharField(
        max_length=200, blank=True,
        help_text="Remote runs: the session (context.session_id, else trajectory_id, else the key's day).",
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="runs_cancelled",
        help_text="Who cancelled the run; a cancelled remote session refuses its agent's later calls naming them.",
    )
    prompt = models.TextField()
    model = models.CharField(max_length=100)
    tools = models.ManyToManyField("governance.ToolRegistration", related_name="runs")
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True)
    final_text = models.TextField(blank=True)
    error = models.TextField(blank=True)
    state = models.JSONField(
        null=True, blank=True,
        help_text="The guarded runner's RunState after the last step, without its conversation items and execution "
        "events (those are the run's state entries).",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # While a worker drives the run it holds a claim (a fresh id per claim) and renews heartbeat_at
    # every few seconds; a run left `running` with a stale heartbeat is queued again (runs.recovery)
    # and its old claim voided, so a worker that only looked dead can write nothing more.
    heartbeat_at = models.DateTimeField(null=True, blank=True, db_index=True)
    claim_id = models.UUIDField(null=True, blank=True, editable=False)
    recoveries = models.PositiveIntegerField(
        default=0, help_text="How many times recovery queued the run again after its worker stopped responding."
    )
    # One-to-one: a failed run is retried at most once, and the database holds to it.
    retry_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="retry",
        help_text="The failed run this run retries.",
    )

    # What happened to its calls, counted as each settled call's event is written (runs.event_log), so
    # that the list can show and filter by it: a run whose calls were all refused still "completed".
    calls_executed = models.PositiveIntegerField(default=0, help_text="Tool calls that ran.")
    calls_blocked = models.PositiveIntegerField(default=0, help_text="Tool calls blocked by policy, never run.")
    calls_denied = models.PositiveIntegerField(
        default=0, help_text="Tool calls a reviewer denied, or denied because the run was cancelled or failed."
    )
    calls_expired = models.PositiveIntegerField(default=0, help_text="Tool calls whose review expired, never run.")
    calls_failed = models.PositiveIntegerField(
        default=0, help_text="Tool calls that failed: the tool raised, or its arguments were invalid."
    )

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"run {str(self.id)[:8]} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("runs:detail", args=[self.pk])

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def calls_not_done(self) -> int:
        """Tool calls that did not run, or failed: blocked, denied, expired, tool errors."""
        return sum(getattr(self, column) for column in _NOT_DONE_COLUMNS)

    @property
    def outcome(self) -> str:
        """The status, and what happened to the calls that were not done: "completed", "completed · 1
        blocked", "cancelled · 2 denied, 1 tool error"."""
        not_done = self._call_counts(_NOT_DONE_COLUMNS)
        return f"{self.status} · {', '.join(not_done)}" if not_done else self.status

    def calls_summary(self) -> str:
        """Every settled call, counted: "1 done, 1 blocked"; "" when none was."""
        return ", ".join(self._call_counts(("calls_executed", *_NOT_DONE_COLUMNS)))

    def _call_counts(self, columns) -> list[str]:
        counts = [(getattr(self, column), _CALL_WORDS[column]) for column in columns]
        return [f"{n} {one if n == 1 else more}" for n, (one, more) in counts if n]

    @property
    def is_remote(self) -> bool:
        return self.origin == RunOrigin.REMOTE

    def tool_names(self) -> list[str]:
        return list(self.tools.values_list("name", flat=True))


class RunEvent(models.Model):
    """One entry of a run's history: an adapter event or a status change. Never updated."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="run_event_seq_unique")]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.seq} {self.type}"


class ToolExecution(models.Model):
    """The claim on one tool call of one run: its existence means the tool was (being) run."""

    class Status(models.TextChoices):
        STARTED = "started", "Started"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="executions")
    call_id = models.CharField(max_length=100)
    tool = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.STARTED)
    output = models.JSONField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "call_id"], name="tool_execution_once_per_call")]

    def __str__(self) -> str:
        return f"{self.tool} {self.call_id} ({self.status})"


class RunStateEntry(models.Model):
    """One conversation item or execution event of a run's `RunState`, at its position. Never updated.

    A step writes only the entries it added; the state that resumes a run is rebuilt from them and the
    run's `state` column (runs/state_store.py)."""

    class Kind(models.TextChoices):
        ITEM = "item", "Conversation item"
        EVENT = "event", "Execution event"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="state_entries")
    kind = models.CharField(max_length=5, choices=Kind.choices)
    position = models.PositiveIntegerField()
    value = models.JSONField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "kind", "position"], name="run_state_entry_unique")]

    def __str__(self) -> str:
        return f"{self.run_id} {self.kind} {self.position}"
