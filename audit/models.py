"""Audit records and the head of their hash chain.

An `AuditRecord` is written once and never changed by the app, except for its seal: its queryset
refuses `update()` and `delete()`, and the model refuses a second `save()` or a `delete()`. Writers
insert records unsealed (`seq` NULL, hashes empty); the sealer (`audit.chain.seal`, one at a time)
then gives each its position in the chain (`seq`, 1, 2, ... without gaps), the hash of the previous
record and its own hash over its content and that previous hash, in commit order. `AuditChainHead`
is a single row holding the last sealed seq and hash; only the sealer locks it, so writers never
wait for each other. Raw SQL can still change rows; `python manage.py verify_audit` finds where in
the sealed records (an unsealed record is covered from its seal on, within about a second).

Texts are stored as text (details as canonical JSON), so hashing and verifying never re-encode.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models


class AppendOnlyError(RuntimeError):
    """Someone tried to change or delete an audit record through the ORM."""


class AuditKind(models.TextChoices):
    DECISION = "decision", "Decision"
    EXECUTION = "execution", "Tool execution"
    APPROVAL = "approval", "Approval"
    RUN_STATUS = "run_status", "Run status"
    CONFIGURATION = "configuration", "Configuration"
    AGENT_REPORT = "agent_report", "Agent report"  # an outcome or memory events sent by a remote agent
    API_REFUSAL = "api_refusal", "API refusal"  # a request the agents' API refused (status: the HTTP code)
    ACCESS = "access", "Login"


class AuditDecision(models.TextChoices):
    ALLOWED = "allowed", "Allowed"
    BLOCKED = "blocked", "Blocked"
    REQUIRES_APPROVAL = "requires_approval", "Requires approval"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"
    EXPIRED = "expired", "Expired"
    ERROR = "error", "Error"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit records are append-only: they cannot be updated")

    def delete(self):
        raise AppendOnlyError("audit records are append-only: they cannot be deleted")


class AuditRecord(models.Model):
    seq = models.BigIntegerField(unique=True, null=True, blank=True, help_text="Position in the hash chain: 1, 2, "
                                 "... without gaps; empty until the sealer reaches the record (within about 1 s).")
    occurred_at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=20, choices=AuditKind.choices)
    decision = models.CharField(max_length=20, choices=AuditDecision.choices, blank=True)
    status = models.CharField(max_length=30, blank=True, help_text="The call's event status, the run's status, or "
                              "what a configuration change did (created, changed, deleted).")
    tool = models.CharField(max_length=64, blank=True)
    actor = models.CharField(max_length=150, blank=True, help_text="The agent actor of a call, or the person acting.")
    domain = models.CharField(max_length=100, blank=True)
    reviewer = models.CharField(max_length=150, blank=True)
    run_id = models.UUIDField(null=True, blank=True, help_text="Kept as a value: the record outlives its run.")
    approval_id = models.BigIntegerField(null=True, blank=True)
    call_id = models.CharField(max_length=100, blank=True)
    policy_ids = models.CharField(max_length=500, blank=True)
    reason = models.TextField(blank=True)
    details = models.TextField(help_text="Canonical JSON: redacted arguments, output, comment, detail.")
    search_text = models.TextField(help_text="What the full-text search indexes.")
    prev_hash = models.CharField(max_length=64, blank=True)  # both empty until sealed
    hash = models.CharField(max_length=64, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        # Insertion order. Seq is commit order (the sealer's): the two differ only between
        # transactions that overlapped, and an unsealed record has no seq yet.
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["tool", "-id"], name="audit_tool_id"),
            # tool + time range, the commonest narrowing: without it a range far back walked every
            # record of the tool newest first (50 ms at 1M records, against 2 ms with it).
            models.Index(fields=["tool", "occurred_at"], name="audit_tool_time"),
            models.Index(fields=["reviewer", "-id"], name="audit_reviewer_id"),
            models.Index(fields=["decision", "-id"], name="audit_decision_id"),
            models.Index(fields=["actor", "-id"], name="audit_actor_id"),
            models.Index(fields=["domain", "-id"], name="audit_domain_id"),
            models.Index(fields=["run_id", "id"], name="audit_run_id"),
            # The sealer's work list: small, as only the records of the last second are in it.
            models.Index(fields=["id"], condition=models.Q(seq__isnull=True), name="audit_unsealed"),
        ]

    def __str__(self) -> str:
        position = f"#{self.seq}" if self.seq is not None else f"(unsealed, id {self.id})"
        return f"audit {position} {self.kind} {self.tool or self.status}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit records are append-only: they cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit records are append-only: they cannot be deleted")

    @property
    def details_data(self) -> dict[str, Any]:
        return json.loads(self.details)

    @property
    def configuration_changes(self) -> list[tuple[str, str, str]]:
        """A configuration change's fields as (name, before, after) texts; empty for other records."""
        if self.kind != AuditKind.CONFIGURATION or self.status != "changed":
            return []
        details = self.details_data
        return [(name, _text(details["before"].get(name)), _text(value)) for name, value in details["after"].items()]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class AuditChainHead(models.Model):
    """The one row (pk 1) holding the chain's last sealed seq and hash; the sealer locks it."""

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"audit chain head at #{self.seq}"
