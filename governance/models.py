"""Tool registrations and the embedded engine's policies, as admins edit them.

`ToolRegistration.clean()` imports the callable (only under the configured module prefixes) and
generates its strict JSON schema; `Policy.clean()` parses and validates the Cedar text. A tool that
does not import, or a policy that does not validate, cannot be saved. `Pause` is the kill switch.
A policy in shadow mode never decides; `ShadowDifference` records each decision it would have changed.
A `PolicyExample` is a call the policy set must decide in a given way (governance/policy_examples.py).
A `DecisionInput` keeps what one policy decision was given and what it answered, so that a draft of the
policy set can decide the same calls again (governance/decision_inputs.py, governance/replay.py).
A `ReplayJob` is one replay of a draft of the policy set over the recorded decisions, its progress and its
result (governance/replay_jobs.py).
A tool's `approvals_needed` (its quorum) and the reviewer groups of a tool or a domain say who decides
its approval requests (approvals/quorum.py, approvals/reviewer_groups.py).
"""

from __future__ import annotations

from datetime import UTC

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from governance.guard.errors import ToolArgumentsError
from governance.guard.tools import DECISION_MODES
from governance.guard.validation import validate_arguments
from governance.redaction import RedactionPathError, parse_paths, unknown_paths
from governance.registry import RegistrationError, describe_registration

# The actor a dashboard run's calls are decided and recorded as, unless their tool names one.
DASHBOARD_ACTOR = "dashboard"


class ToolRegistration(models.Model):
    name = models.CharField(
        max_length=64,
        unique=True,
        validators=[
            RegexValidator(r"^[a-zA-Z0-9_-]{1,64}$", "Letters, digits, _ and - only (the API's tool name rule).")
        ],
        help_text="The name the model calls the tool by.",
    )
    callable_path = models.CharField(
        max_length=255,
        help_text="Dotted path of the Python function, e.g. governance.demo_tools.refund_payment. "
        "Only modules under GOVERNANCE_TOOL_MODULE_PREFIXES may be registered.",
    )
    description = models.TextField(blank=True, help_text="Shown to the model. Empty: the function's docstring.")
    schema = models.JSONField(
        default=dict, blank=True, editable=False, help_text="Strict JSON schema generated from the signature."
    )
    schema_override = models.JSONField(
        null=True, blank=True, help_text="Optional strict JSON schema used instead of the generated one."
    )
    value_argument = models.CharField(
        max_length=64, blank=True, help_text="Argument holding the amount that policies and thresholds compare."
    )
    target_argument = models.CharField(max_length=64, blank=True, help_text="Argument naming what the call acts on.")
    domain = models.CharField(max_length=100, default="customer_transactions")
    actor = models.CharField(max_length=100, blank=True, help_text="Empty: the run's actor.")
    decision_mode = models.CharField(max_length=10, choices=[(m, m) for m in DECISION_MODES], default=DECISION_MODES[0])
    approve_above = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True,
        help_text="Calls whose value is above this need a reviewer's approval (no Cedar needed).",
    )
    block_above = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True,
        help_text="Calls whose value is above this are blocked (no Cedar needed).",
    )
    redact_fields = models.TextField(
        blank=True,
        help_text="Argument fields whose values are shown and stored as [redacted] in run pages, approval "
        "pages and the audit log, as dotted paths separated by commas (e.g. card_number, customer.email). "
        "The tool itself still receives the real values.",
    )
    approvals_needed = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1)],
        help_text="How many reviewers must approve a call of this tool before it runs (a quorum): each a different "
        "person, none of them whoever started the run. One denial ends the request.",
    )
    reviewer_groups = models.ManyToManyField(
        "auth.Group", blank=True, related_name="+",
        help_text="Only reviewers in one of these groups may decide this tool's requests. Empty: its domain's "
        "reviewer groups, else every reviewer.",
    )
    enabled = models.BooleanField(default=True, help_text="A disabled tool is not offered and never runs.")
    # Deadlines (approvals/deadlines.py): how long its requests wait, and who hears of them when nobody decided.
    approval_window_seconds = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], verbose_name="approval window (seconds)",
        help_text="How long a request for this tool waits for a decision: a reminder goes out at half of it, "
        "and at its end the request escalates or expires. Empty: GOVERNANCE_APPROVAL_TTL_SECONDS.",
    )
    escalation_group = models.ForeignKey(
        "auth.Group", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="At the end of the window an undecided request escalates once to this group (its members are "
        "told and may decide it) with a new window of the same length, before it expires. Empty: it expires.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            described = describe_registration(self)
        except RegistrationError as exc:
            raise ValidationError({exc.field: str(exc)}) from exc
        self.schema = described.schema
        self._check_redact_fields(self.schema_override if self.schema_override is not None else self.schema)
        if not self.description:
            self.description = described.description


    def _check_redact_fields(self, schema: dict) -> None:
        try:
            paths = parse_paths(self.redact_fields)
        except RedactionPathError as exc:
            raise ValidationError({"redact_fields": str(exc)}) from exc
        unknown = unknown_paths(paths, schema)
        if unknown:
            names = ", ".join(schema.get("properties", {}))
            raise ValidationError(
                {"redact_fields": f"not arguments of this tool: {', '.join(unknown)} (its arguments: {names})"}
            )
        self.redact_fields = ", ".join(paths)

    @property
    def redacted_paths(self) -> list[str]:
        return parse_paths(self.redact_fields)


class Policy(models.Model):
    """A Cedar policy of the embedded engine. See docs/policies.md for the entity mapping."""

    name = models.CharField(max_length=100, unique=True, help_text="Shown in decisions as the matching policy.")
    description = models.TextField(blank=True)
    cedar = models.TextField(
        help_text='Cedar text. permit(...) allows; annotate @approval("required") to ask a reviewer; '
        "forbid(...) blocks. Actions are registered tool names (Action::\"refund_payment\"). Refused with "
        "the line number if it does not parse or names an unknown action or attribute. See docs/policies.md."
    )
    class Mode(models.TextChoices):
        ACTIVE = "active", "Active"
        SHADOW = "shadow", "Shadow"

    enabled = models.BooleanField(default=True)
    mode = models.CharField(
        max_length=10, choices=Mode.choices, default=Mode.ACTIVE,
        help_text="Active: the policy decides. Shadow: it is evaluated beside the active policies and never "
        "changes a decision; every decision it would have changed is listed on this page, counted by outcome "
        "(governance/shadow.py).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from governance.policy import validate_policy_text  # noqa: PLC0415 -- cedarpy only when a policy is saved

        tools = list(ToolRegistration.objects.values_list("name", flat=True))
        problems = validate_policy_text(self.cedar, name=self.name, tools=tools)
        if problems:
            raise ValidationError({"cedar": [str(p) for p in problems]})


OBSERVE_ONLY_REFUSED = (
    "Observe only is refused here: in this deployment (the production profile) calls in an observe-only domain "
    "would run whatever the policies decide. Set GOVERNANCE_ALLOW_OBSERVE_ONLY=true to allow it (docs/policies.md)."
)


class DomainDefault(models.Model):
    """A domain's settings: what the engine decides there when no policy matches (fail closed unless changed),
    and which reviewer groups decide its requests."""

    class Outcome(models.TextChoices):
        BLOCKED = "blocked", "Blocked"
        REQUIRES_APPROVAL = "requires_approval", "Requires approval"
        ALLOWED = "allowed", "Allowed"

    domain = models.CharField(max_length=100, unique=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.BLOCKED)
    reviewer_groups = models.ManyToManyField(
        "auth.Group", blank=True, related_name="+",
        help_text="Only reviewers in one of these groups may decide requests in this domain, unless the tool "
        "names its own reviewer groups. Empty: every reviewer.",
    )
    observe_only = models.BooleanField(
        default=False,
        help_text="Observe only: decisions in this domain are computed and recorded as usual, but every call "
        "proceeds (one that would have been blocked or needed approval runs, its record saying what it would have "
        "been); a pause still blocks. Marked on the domain's runs, approvals and audit records. Refused unless "
        "the setting GOVERNANCE_ALLOW_OBSERVE_ONLY is on (off by default in the production profile).",
    )

    def __str__(self) -> str:
        return f"{self.domain}: {self.outcome}" + (" (observe only)" if self.observe_only else "")

    def clean(self) -> None:
        super().clean()
        if self.observe_only and not settings.GOVERNANCE_ALLOW_OBSERVE_ONLY:
            raise ValidationError({"observe_only": OBSERVE_ONLY_REFUSED})


class PauseScope(models.TextChoices):
    TOOL = "tool", "Tool"
    ACTOR = "actor", "Actor"
    DOMAIN = "domain", "Domain"
    EVERYTHING = "everything", "Everything"


class PauseQuerySet(models.QuerySet):
    def active(self) -> PauseQuerySet:
        return self.filter(resumed_at=None)

    def covering(self, *, tool: str, actor: str, domain: str) -> PauseQuerySet:
        """The active pauses that cover a call of `tool` by `actor` in `domain`, the earliest first."""
        return self.active().filter(
            models.Q(scope=PauseScope.EVERYTHING)
            | models.Q(scope=PauseScope.TOOL, value=tool)
            | models.Q(scope=PauseScope.ACTOR, value=actor)
            | models.Q(scope=PauseScope.DOMAIN, value=domain)
        ).order_by("paused_at", "pk")


class Pause(models.Model):
    """The kill switch: while a pause is active (not resumed), every new decision it covers is blocked.

    Made and ended through `governance.pauses` (pause, resume), which the run page, the approvals queue
    and the admin call; the engine consults the active rows at every decision (`pauses.PauseGate`).
    """

    scope = models.CharField(max_length=10, choices=PauseScope.choices)
    value = models.CharField(
        max_length=150, blank=True, help_text="The tool, actor or domain paused; empty when everything is."
    )
    paused_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    paused_by_name = models.CharField(max_length=150, help_text="Who paused, as the blocked calls name them.")
    paused_at = models.DateTimeField(default=timezone.now)
    resumed_by_name = models.CharField(max_length=150, blank=True)
    resumed_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = PauseQuerySet.as_manager()

    class Meta:
        ordering = ["-paused_at"]
        permissions = [("pause_decisions", "Can pause and resume tools, actors, domains or everything")]
        constraints = [
            # One active pause per thing: a second click on "Pause" finds the first one.
            models.UniqueConstraint(fields=["scope", "value"], condition=models.Q(resumed_at=None),
                                    name="pause_active_unique", violation_error_message="This is already paused."),
        ]

    def __str__(self) -> str:
        return self.what

    def clean(self) -> None:
        if self.scope != PauseScope.EVERYTHING and not self.value.strip():
            raise ValidationError({"value": f"Name the {self.scope or 'tool, actor or domain'} to pause."})

    @property
    def what(self) -> str:
        """What is paused, as people say it: "tool refund_payment", "everything"."""
        return "everything" if self.scope == PauseScope.EVERYTHING else f"{self.scope} {self.value}"

    @property
    def is_active(self) -> bool:
        return self.resumed_at is None

    @property
    def reason(self) -> str:
        """What a blocked call says: "paused by NAME at TIME" (UTC)."""
        return f"{self.what} paused by {self.paused_by_name} at {self.paused_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


class ImmutableError(RuntimeError):
    """A policy set version (or one of its changes) was about to be changed or deleted: history is kept."""


class _Immutable(models.Model):
    """A row written once: `save()` refuses an update, `delete()` refuses always (bulk `.delete()` too,
    through `ImmutableQuerySet`)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ImmutableError(f"{self._meta.verbose_name} {self} is history: it is never changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableError(f"{self._meta.verbose_name} {self} is history: it is never deleted")


class ImmutableQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableError("policy set versions are history: they are never changed")

    def delete(self):
        raise ImmutableError("policy set versions are history: they are never deleted")


class PolicySetVersion(_Immutable):
    """One version of the whole policy set (policies, tools' decision settings, domain defaults): its
    number grows by one with every change, and every decision records the number it was made under.

    Written only by `governance.versions`; see that module for the snapshot and the diff.
    """

    number = models.PositiveIntegerField(unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    author_name = models.CharField(max_length=150, help_text="Who saved it; \"system\" without a signed-in user.")
    comment = models.TextField(help_text="Why the policy set changed (required in the admin).")
    snapshot = models.JSONField(help_text="The whole policy set as this version left it.")
    diff = models.TextField(blank=True, help_text="What changed from the previous version, readable.")
    rollback_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                    help_text="The version whose content this one restored.")

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        ordering = ["-number"]
        verbose_name = "policy set version"

    def __str__(self) -> str:
        return f"v{self.number}"


class PolicySetChange(_Immutable):
    """One object a policy set version changed (a policy, a tool, a domain default) and its own diff."""

    class Kind(models.TextChoices):
        POLICY = "policy", "Policy"
        TOOL = "tool", "Tool"
        DOMAIN_DEFAULT = "domain_default", "Domain default"

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        CHANGED = "changed", "Changed"
        DELETED = "deleted", "Deleted"

    version = models.ForeignKey(PolicySetVersion, on_delete=models.PROTECT, related_name="changes")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(max_length=100, help_text="The policy's name, the tool's name or the domain.")
    action = models.CharField(max_length=10, choices=Action.choices)
    diff = models.TextField()

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        ordering = ["-version__number", "kind", "name"]
        indexes = [models.Index(fields=["kind", "name"])]

    def __str__(self) -> str:
        return f"{self.version}: {self.get_kind_display().lower()} {self.name} {self.action}"


class ShadowDifference(models.Model):
    """A decision a shadow policy would have changed: the real outcome, and the outcome of the active set
    with that policy added. Written by `governance.shadow`; ids of runs and calls are kept as values
    (governance imports no other app)."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="shadow_differences")
    tool = models.CharField(max_length=100)
    actor = models.CharField(max_length=150)
    domain = models.CharField(max_length=100)
    run_id = models.UUIDField(null=True, blank=True, help_text="The run the call belongs to (a remote agent's "
                              "session is a run too); empty when the decision had none.")
    call_id = models.CharField(max_length=200, blank=True)
    request_id = models.CharField(max_length=100, blank=True, help_text="The real decision's request id.")
    real_outcome = models.CharField(max_length=20, choices=DomainDefault.Outcome.choices)
    shadow_outcome = models.CharField(max_length=20, choices=DomainDefault.Outcome.choices)
    policy_version = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["policy", "real_outcome", "shadow_outcome"])]

    def __str__(self) -> str:
        return f"{self.policy_id}: {self.tool} {self.real_outcome} -> {self.shadow_outcome}"


class PolicyExample(models.Model):
    """An example call the policy set must decide in a given way: a test of the set, run on every save of a
    policy, a tool or a domain default, and by `manage.py check_policies` (governance/policy_examples.py)."""

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", "Allowed"
        REQUIRES_APPROVAL = "requires_approval", "Requires approval"
        BLOCKED = "blocked", "Blocked"

    name = models.CharField(max_length=100, unique=True,
                            help_text="Named in the error of a save that breaks this example.")
    tool = models.CharField(max_length=64, help_text="The registered tool the example calls, by name.")
    arguments = models.JSONField(
        default=dict, blank=True,
        help_text='The call\'s arguments as JSON, e.g. {"order_id": "ord_1", "amount": 150}. The tool\'s value '
        "and target arguments are read from them as in a run.",
    )
    actor = models.CharField(
        max_length=100, blank=True,
        help_text=f"Who calls. Empty: the tool's actor, else “{DASHBOARD_ACTOR}” (a dashboard run's actor).")
    domain = models.CharField(max_length=100, blank=True, help_text="The call's domain. Empty: the tool's domain.")
    expected = models.CharField(
        max_length=20, choices=Outcome.choices, verbose_name="must get",
        help_text="The outcome the policy set must give this call. A save of a policy, a tool or a domain default "
        "that changes it is refused, naming this example.",
    )
    description = models.TextField(blank=True, help_text="Why the call must get this outcome (for the next reader).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "policy example"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not isinstance(self.arguments, dict):
            raise ValidationError({"arguments": 'A JSON object of the tool\'s arguments, e.g. {"order_id": "ord_1"}.'})
        tool = ToolRegistration.objects.filter(name=self.tool).first()
        if tool is None:
            names = ", ".join(ToolRegistration.objects.values_list("name", flat=True)) or "none yet"
            raise ValidationError({"tool": f"No tool is registered as “{self.tool}” (registered: {names})."})
        schema = tool.schema_override if tool.schema_override is not None else tool.schema
        if schema:
            try:
                validate_arguments(self.arguments, schema)
            except ToolArgumentsError as exc:
                raise ValidationError({"arguments": f"Not valid arguments for {tool.name}: {exc.reason}"}) from exc


class DecisionInput(models.Model):
    """What one policy decision was given and what the policies answered: the first decision of a call (not
    the re-check of an approved call, not a decision a pause made), recorded by the kill switch's gate
    (governance/decision_inputs.py) and decided again by `governance.replay`. Arguments are kept as they
    are shown (the tool's redact fields replaced, secrets scrubbed); ids of runs are kept as values."""

    class Source(models.TextChoices):
        DASHBOARD = "dashboard", "Dashboard run"
        API = "api", "Remote agent (API)"

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    # As long as where the call's fields come from: a key's or run's actor (150), a tool's name (64).
    tool = models.CharField(max_length=100)
    actor = models.CharField(max_length=150)
    domain = models.CharField(max_length=100)
    value = models.FloatField(null=True, blank=True, help_text="The call's value; empty when it had none or its "
                              "argument is not shown as it is (redacted or scrubbed).")
    # NULL (no target) and "" (an empty one) are different calls to a policy reading `context has target`.
    target = models.TextField(null=True, blank=True, help_text="The call's target; empty when it had none, as it "  # noqa: DJ001
                              "is shown when its argument is redacted or scrubbed.")
    arguments = models.JSONField(default=dict, blank=True, help_text="The arguments as they are shown: the tool's "
                                 "redact fields replaced by [redacted], secrets by [secret].")
    redacted = models.BooleanField(default=False, help_text="Some argument was redacted or scrubbed: a replay "
                                   "decides the call with the markers, not the real values.")
    outcome = models.CharField(max_length=20, choices=DomainDefault.Outcome.choices,
                               help_text="What the policies decided (in an observe-only domain, what they "
                               "would have decided).")
    policy_version = models.PositiveIntegerField(null=True, blank=True)
    run_id = models.UUIDField(null=True, blank=True, help_text="The run the call belongs to (a remote agent's "
                              "session is a run too).")
    call_id = models.CharField(max_length=200, blank=True)
    request_id = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices)

    class Meta:
        verbose_name = "decision input"
        constraints = [
            # A worker that dies and decides a call again records it once.
            models.UniqueConstraint(fields=["run_id", "call_id"], condition=~models.Q(call_id=""),
                                    name="decision_input_once_per_call"),
        ]

    def __str__(self) -> str:
        return f"{self.tool} by {self.actor}: {self.outcome}"

class ReplayJob(models.Model):
    """One replay of a draft of the policy set over the decisions of the last `days` days: who started it,
    the draft (a snapshot, governance/versions.py) and what it is, its progress, and its result as
    `ReplayResult.to_dict()` with the findings. Run by a Celery task (governance/replay_jobs.py)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    FINISHED = (Status.DONE, Status.CANCELLED, Status.FAILED)

    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_by_name = models.CharField(max_length=150, help_text="Who started it (kept if the user is deleted).")
    label = models.CharField(max_length=200, help_text="What the draft is, e.g. “policy refunds (unsaved change)”.")
    draft = models.JSONField(help_text="The policy set replayed: a snapshot as governance/versions.py makes them.")
    days = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(365)])
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    done = models.PositiveIntegerField(default=0, help_text="Decisions replayed so far.")
    total = models.PositiveIntegerField(null=True, blank=True, help_text="Decisions to replay; empty until it runs.")
    cancel_requested = models.BooleanField(default=False)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When a running replay last saved its progress; long ago, its worker died (replay_jobs.STALE_AFTER).")
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True, help_text="ReplayResult.to_dict() (governance/replay.py).")
    findings = models.JSONField(default=list, blank=True,
                                help_text="The findings of a finished replay: [{kind, policy, message}].")
    error = models.TextField(blank=True, help_text="Why it failed.")

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "replay"

    def __str__(self) -> str:
        return f"replay {self.pk}: {self.label}"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED
