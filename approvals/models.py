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

from governance import permissions


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
        """What the user's approvals queue lists and the nav count counts: pending requests they may see."""
        return self.pending().visible_to(user)

    def listed(self) -> ApprovalRequestQuerySet:
        """The first 100, newest first, with their runs and who started them (for the queue's rows)."""
        return self.select_related("run", "run__started_by")[:100]


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
