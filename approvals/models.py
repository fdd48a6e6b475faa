"""Approval requests raised by paused tool calls, and the preset reasons reviewers deny with.

A request is bound to a digest of the exact tool name and canonical arguments: what a reviewer
approves is what runs. Its status moves once, from pending to approved, denied or expired,
through a conditional UPDATE in `approvals.services`, so a second click changes nothing. The
resolution also records what caused it (`cause`) and the person who did (`resolved_by`): a reviewer,
or whoever cancelled the run; nobody for expiry or a run that failed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from governance import observe, permissions

from . import reviewer_groups


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"
    EXPIRED = "expired", "Expired"


class ResolutionCause(models.TextChoices):
    REVIEW = "review", "A reviewer decided"
    EXPIRY = "expiry", "Nobody decided in time"
    RUN_CANCELLED = "run_cancelled", "Its run was cancelled"
    RUN_FAILED = "run_failed", "Its run failed"


class ApprovalRequestQuerySet(models.QuerySet):
    def pending(self) -> ApprovalRequestQuerySet:
        return self.filter(status=ApprovalStatus.PENDING)

    def resolved(self) -> ApprovalRequestQuerySet:
        """Out of `pending`: approved, denied or expired."""
        return self.exclude(status=ApprovalStatus.PENDING)

    def overdue(self, now=None) -> ApprovalRequestQuerySet:
        return self.pending().filter(expires_at__isnull=False, expires_at__lte=now or timezone.now())

    def reminder_due(self, now=None) -> ApprovalRequestQuerySet:
        """Pending, past half-time and not reminded yet (approvals/deadlines.py)."""
        return self.pending().filter(reminded_at=None, remind_at__isnull=False, remind_at__lte=now or timezone.now())

    def visible_to(self, user) -> ApprovalRequestQuerySet:
        """The requests of the runs the user may see, and those escalated to their groups (governance.permissions)."""
        return self.filter(permissions.visible_approvals(user))

    def queue_for(self, user) -> ApprovalRequestQuerySet:
        """What the user's approvals queue lists and the nav count counts: pending requests they may see; for a
        reviewer, only those they may decide (their tool's or domain's reviewer groups, approvals/reviewer_groups.py)
        and have not approved yet (a quorum's, approvals/quorum.py). Still one query."""
        pending = self.pending().visible_to(user)
        if not permissions.is_reviewer(user):
            return pending
        return reviewer_groups.with_domain(pending).filter(reviewer_groups.allowing(user)).exclude(votes__reviewer=user)

    def with_observe_only(self) -> ApprovalRequestQuerySet:
        """Each request annotated `observe_only`: whether its domain is observe only (governance/observe.py);
        a subquery, no query of its own."""
        return (self.alias(_observed_domain=reviewer_groups.request_domain())
                .annotate(observe_only=observe.in_observed_domain(models.OuterRef("_observed_domain"))))

    def listed(self) -> ApprovalRequestQuerySet:
        """The first 100, newest first, with their runs and who started them, and whether they are in an
        observe-only domain (for the queue's rows)."""
        return self.select_related("run", "run__started_by").with_observe_only()[:100]


class ApprovalRequest(models.Model):
    run = models.ForeignKey("runs.Run", on_delete=models.CASCADE, related_name="approval_requests")
    call_id = models.CharField(max_length=100)
    tool = models.CharField(max_length=64)
    arguments = models.JSONField()
    arguments_digest = models.CharField(
        max_length=64, help_text="SHA-256 of the tool name and canonical JSON arguments this request approves."
    )
    decision = models.JSONField(help_text="The decision that paused the call, as the runner saw it.")
    reason = models.TextField(blank=True)
    policy_ids = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING, db_index=True
    )
    requested_at = models.DateTimeField(auto_now_add=True, db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="approvals_resolved",
        help_text="The person who resolved it: the reviewer, or whoever cancelled the run. Empty for expiry and "
        "for a run that failed.",
    )
    cause = models.CharField(max_length=16, choices=ResolutionCause.choices, blank=True,
                             help_text="What resolved it; empty while pending.")
    comment = models.TextField(blank=True)
    # Edit, then approve (approvals/edits.py): `arguments` stays what the model asked for, as shown.
    edited_arguments = models.JSONField(
        null=True, blank=True, help_text="The arguments the reviewer approved instead (as shown, redacted); "
        "empty unless the call was edited before approval. The digest then binds these.",
    )
    original_digest = models.CharField(
        max_length=64, blank=True, help_text="Of an edited call: the digest of the arguments the model asked for.",
    )
    # Deadlines (approvals/deadlines.py): each moment is claimed once, by a conditional UPDATE.
    remind_at = models.DateTimeField(null=True, blank=True, help_text="Half-time: when the reminder is due.")
    reminded_at = models.DateTimeField(null=True, blank=True, help_text="When the half-time reminder was sent.")
    escalated_at = models.DateTimeField(null=True, blank=True,
                                        help_text="When it escalated at its first deadline (it escalates once).")
    escalated_to = models.ForeignKey(
        "auth.Group", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The tool's escalation group when it escalated: its members may decide it too.",
    )

    objects = ApprovalRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at"]
        constraints = [models.UniqueConstraint(fields=["run", "call_id"], name="approval_once_per_call")]
        permissions = [("resolve_approvalrequest", "Can approve or deny approval requests")]

    def __str__(self) -> str:
        return f"{self.tool} for run {str(self.run_id)[:8]} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == ApprovalStatus.PENDING

    @property
    def was_edited(self) -> bool:
        return self.edited_arguments is not None

    @property
    def outcome(self) -> str:
        """How it was resolved, naming who caused it: "approved by rita", "denied because olivia cancelled
        the run", "denied because the run failed", "expired". The page, the conflict message and the
        timeline all say it this way."""
        who = self.resolved_by.get_username() if self.resolved_by_id else ""
        if self.cause == ResolutionCause.RUN_CANCELLED:
            return f"denied because {who or 'someone'} cancelled the run"
        if self.cause == ResolutionCause.RUN_FAILED:
            return "denied because the run failed"
        if self.status == ApprovalStatus.EXPIRED:
            return "expired"
        return f"{self.status} by {who}" if who else str(self.status)


class DenyReason(models.Model):
    """A preset reason offered to reviewers when they deny; the text reaches the model."""

    text = models.CharField(max_length=200, unique=True)
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Lower numbers are listed first.")

    class Meta:
        ordering = ["position", "text"]

    def __str__(self) -> str:
        return self.text


class GrantEffect(models.TextChoices):
    APPROVE = "approve", "Approve"
    DENY = "deny", "Deny"


class GrantScope(models.TextChoices):
    RUN = "run", "The rest of this run"
    ACTOR = "actor", "This actor, until the grant ends"


# A run that ended settles no more calls; its grants leave the active list. The runs app's words
# (runs.models.FINAL_STATUSES), spelled out: approvals may not import runs (the layer order).
_ENDED_RUN_STATUSES = ("completed", "failed", "cancelled")


class GrantQuerySet(models.QuerySet):
    def active(self, now=None) -> GrantQuerySet:
        """Not revoked and not past its end (a grant for a run ends with the run)."""
        now = now or timezone.now()
        return (self.filter(revoked_at__isnull=True)
                .filter(models.Q(ends_at__isnull=True) | models.Q(ends_at__gt=now))
                .exclude(scope=GrantScope.RUN, run__status__in=_ENDED_RUN_STATUSES))

    def covering(self, *, run, tool: str, now=None) -> GrantQuerySet:
        """The active grants for `tool` whose scope covers a call of `run`: that run, or its actor (a remote
        session's actor string; a dashboard run's user who started it). Deny first, then the newest."""
        if run.origin == "remote":
            actor = models.Q(actor=run.actor, actor_user__isnull=True) if run.actor else models.Q(pk__in=[])
        else:
            actor = models.Q(actor_user_id=run.started_by_id) if run.started_by_id else models.Q(pk__in=[])
        scope = models.Q(scope=GrantScope.RUN, run_id=run.pk) | (models.Q(scope=GrantScope.ACTOR) & actor)
        return self.active(now).filter(scope, tool=tool).order_by("-effect", "-granted_at", "-pk")

    def visible_to(self, user) -> GrantQuerySet:
        """Grants of the runs the user may see; actor grants (no run) only to who sees every run."""
        if permissions.sees_every_run(user):
            return self
        return self.filter(permissions.visible_runs(user, through="run__"), run__isnull=False)


class Grant(models.Model):
    """A sticky decision a reviewer made for every later call of one tool in a scope, until it ends or is
    revoked. It settles only calls policy sends to review (`requires_approval`): a blocked call stays
    blocked, and an approved call is re-checked against policy before it runs."""

    effect = models.CharField(max_length=10, choices=GrantEffect.choices)
    tool = models.CharField(max_length=64)
    scope = models.CharField(max_length=10, choices=GrantScope.choices)
    run = models.ForeignKey("runs.Run", null=True, blank=True, on_delete=models.CASCADE, related_name="grants",
                            help_text="The run a 'rest of this run' grant covers; for an actor grant, the run "
                            "it was granted from.")
    actor = models.CharField(max_length=150, blank=True,
                             help_text="Actor grants of remote sessions: the actor string the agent acts as.")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="Actor grants of dashboard runs: the person whose runs it covers.",
    )
    ends_at = models.DateTimeField(null=True, blank=True,
                                   help_text="When an actor grant ends; empty for a run's (it ends with the run).")
    approval = models.ForeignKey(ApprovalRequest, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="grants", help_text="The request it was granted from.")
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="grants_made")
    granted_at = models.DateTimeField(auto_now_add=True)
    comment = models.TextField(blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="grants_revoked")

    objects = GrantQuerySet.as_manager()

    class Meta:
        ordering = ["-granted_at", "-pk"]
        indexes = [models.Index(fields=["tool", "revoked_at"], name="grant_tool_revoked")]

    def __str__(self) -> str:
        return f"grant #{self.pk}: {self.effect} {self.tool} for {self.scope_text}"

    @property
    def scope_text(self) -> str:
        """"the rest of run 1a2b3c4d", "actor rita until 14:05"."""
        if self.scope == GrantScope.RUN:
            return f"the rest of run {str(self.run_id)[:8]}"
        who = self.actor_user.get_username() if self.actor_user_id else self.actor
        until = timezone.localtime(self.ends_at).strftime("%H:%M") if self.ends_at else "revoked"
        return f"actor {who} until {until}"

    @property
    def described(self) -> str:
        """What a call it settled says of it: "approved by grant #3 of rita (the rest of run 1a2b3c4d)"."""
        verb = "approved" if self.effect == GrantEffect.APPROVE else "denied"
        return f"{verb} by grant #{self.pk} of {self.granted_by.get_username()} ({self.scope_text})"


class GrantUse(models.Model):
    """One call a grant settled, instead of an approval request: at most one per (run, call id)."""

    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="uses")
    run = models.ForeignKey("runs.Run", on_delete=models.CASCADE, related_name="grant_uses")
    call_id = models.CharField(max_length=100)
    tool = models.CharField(max_length=64)
    effect = models.CharField(max_length=10, choices=GrantEffect.choices)
    settled_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["settled_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["run", "call_id"], name="grant_use_once_per_call")]

    def __str__(self) -> str:
        return f"{self.tool} call {self.call_id} settled by grant #{self.grant_id}"


class ApprovalVote(models.Model):
    """One reviewer's approval of a request whose tool needs more than one (its quorum, approvals/quorum.py).

    One row per reviewer and request; the request moves to approved on the vote that makes the quorum.
    """

    approval = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="votes")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    voted_at = models.DateTimeField(default=timezone.now)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["voted_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["approval", "reviewer"], name="approval_vote_once_per_reviewer")]

    def __str__(self) -> str:
        return f"approval #{self.approval_id} by user {self.reviewer_id}"
