"""Remote agents: their API keys, what they sent, and the answers kept for Idempotency-Key replays.

An `AgentKey` stores only a SHA-256 hash of its secret and a short visible prefix to find it by
(`agents.keys` issues, checks and revokes them). A key is bound to one actor and a set of domains;
an `approver` key also acts for one dashboard user. `AgentActivity` is one decision, outcome report
or memory event received through the API, with the session it belongs to; `RemoteSession` links a
key's session to the run that shows it on the runs pages. `IdempotentRequest` is
the answer given to one Idempotency-Key of one key, with a fingerprint of the request it answered.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone


class AgentKeyRole(models.TextChoices):
    AGENT = "agent", "Agent"
    APPROVER = "approver", "Approver"


class AgentKeyQuerySet(models.QuerySet):
    def usable(self, now=None) -> AgentKeyQuerySet:
        """Keys that authenticate now: not revoked, not expired."""
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


class AgentKey(models.Model):
    name = models.CharField(max_length=100, help_text="Who uses this key, e.g. the service an agent runs in.")
    prefix = models.CharField(
        max_length=16, unique=True, editable=False,
        help_text="The visible start of the key (gd_live_<prefix>_...), to recognise it; not secret.",
    )
    secret_hash = models.CharField(max_length=64, editable=False)
    actor = models.CharField(
        max_length=150, help_text="The actor every request of this key must name (policies see it as the principal).",
    )
    domains = models.JSONField(
        default=list, help_text="The domains this key may ask about; a request naming another is refused (403).",
    )
    role = models.CharField(
        max_length=10, choices=AgentKeyRole.choices, default=AgentKeyRole.AGENT,
        help_text="agent: evaluate, report outcomes, ingest memory, read its approvals. approver: also resolve "
        "approvals, as the user below and under the same rules as that user in the browser.",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="agent_keys",
        help_text="Approver keys only: the dashboard user this integration acts for.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="agent_keys_created",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Updated at most once a minute.",
    )
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="agent_keys_revoked",
        editable=False,
    )

    objects = AgentKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "agent API key"

    def __str__(self) -> str:
        return f"{self.name} (gd_live_{self.prefix}_…)"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        domains = self.domains
        if not isinstance(domains, list) or not domains:
            errors["domains"] = "Name at least one domain."
        elif not all(isinstance(d, str) and d.strip() and len(d) <= 100 for d in domains):
            errors["domains"] = "Each domain is a non-empty name of at most 100 characters."
        elif len(set(domains)) != len(domains):
            errors["domains"] = "A domain is named twice."
        if self.role == AgentKeyRole.APPROVER and self.user_id is None:
            errors["user"] = "An approver key acts for a dashboard user: choose one."
        if self.role == AgentKeyRole.AGENT and self.user_id is not None:
            errors["user"] = "Only approver keys act for a user; leave it empty for an agent key."
        if errors:
            raise ValidationError(errors)

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class ActivityKind(models.TextChoices):
    DECISION = "decision", "Decision"
    OUTCOME = "outcome", "Outcome report"
    MEMORY = "memory", "Memory event"


class AgentActivity(models.Model):
    """One thing a remote agent sent and what the dashboard answered, in the session it belongs to."""

    key = models.ForeignKey(AgentKey, on_delete=models.PROTECT, related_name="activities")
    kind = models.CharField(max_length=10, choices=ActivityKind.choices)
    session = models.CharField(
        max_length=200, help_text="context.session_id, else trajectory_id, else one session per key and day.",
    )
    actor = models.CharField(max_length=150)
    domain = models.CharField(max_length=100, blank=True)
    tool = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=30, blank=True, help_text="The decision's outcome or the reported status.")
    request_id = models.CharField(max_length=100, blank=True, db_index=True)
    event_id = models.CharField(max_length=100, blank=True, help_text="A memory event's own id (deduplicated).")
    payload = models.JSONField(help_text="What was sent (arguments redacted, secrets scrubbed) and answered.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "agent activity"
        indexes = [models.Index(fields=["key", "session", "created_at"], name="agents_activity_session")]
        constraints = [
            models.UniqueConstraint(fields=["actor", "event_id"], condition=~Q(event_id=""),
                                    name="agents_memory_event_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.tool or ''} {self.status} ({self.actor})"


class RemoteSession(models.Model):
    """Which run shows one session of one key (agents/sessions.py): the key's calls in that session are
    decided, shown and cancelled there."""

    key = models.ForeignKey(AgentKey, on_delete=models.PROTECT, related_name="sessions")
    session = models.CharField(max_length=200)
    run = models.OneToOneField("runs.Run", on_delete=models.CASCADE, related_name="remote_session")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "session"], name="agents_one_run_per_session")]

    def __str__(self) -> str:
        return f"{self.session} ({self.key_id})"


class IdempotentRequest(models.Model):
    """The answer given to one Idempotency-Key of one API key: replayed for the same request, 409 for another."""

    key = models.ForeignKey(AgentKey, on_delete=models.CASCADE, related_name="idempotent_requests")
    idempotency_key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and canonical body.")
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "idempotency_key"], name="agents_idempotency_key_once"),
        ]

    def __str__(self) -> str:
        return f"{self.idempotency_key} ({self.key_id})"
