"""The wire format of the BIGHUB-compatible API: request and answer schemas, as the `bighub` SDK
(0.1.0b5) sends and parses them (its `types.py`: ActionSubmitRequest, ActionEvaluateResponse,
MemoryIngestResponse, ApprovalItem, and the bodies of `outcomes.report`, `actions.ingest_memory` and
`approvals.resolve`).

Validation is pydantic's, through django-ninja: a missing field or one of the wrong type is a 422
naming it. Fields BIGHUB accepts that the dashboard has no use for are accepted and ignored. Plain
pydantic models, not ninja's `Schema`: its Django-object getter drops the extra keys that `context`
and memory events keep.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_BATCH = 100
MAX_MEMORY_EVENTS = 500
MAX_CALL_ID = 200  # as a call's id is kept (governance.DecisionInput.call_id, ShadowDifference.call_id)

class EvaluateContext(BaseModel):
    """`context`: free-form, with the keys the dashboard reads named here."""

    model_config = ConfigDict(extra="allow")

    arguments: dict[str, Any] | None = Field(
        None, description="The call's arguments: policies and reviewers see them (our library sends them; the "
        "published adapter does not).")
    session_id: str | None = Field(None, min_length=1, max_length=200, description="Groups decisions into a session.")
    trajectory_id: str | None = Field(None, min_length=1, max_length=200, description="The session when no session_id.")
    trace_id: str | None = Field(None, max_length=200)
    call_id: str | None = Field(None, max_length=MAX_CALL_ID)


class CallIn(BaseModel):
    action: str = Field(min_length=1, max_length=64, description="The tool (action) the agent proposes to call.")
    value: float | None = Field(None, allow_inf_nan=False, description="The amount policies compare.")
    target: str | None = Field(None, max_length=500, description="What the call acts on.")
    actor: str | None = Field(None, min_length=1, max_length=150, description="Must be the key's actor.")
    domain: str | None = Field(None, min_length=1, max_length=100,
                               description="Must be one of the key's domains; omitted: the key's only domain.")
    context: EvaluateContext | None = None
    metadata: dict[str, Any] | None = Field(None, description="Merged under `context`, as the SDK does.")


class EvaluateIn(CallIn):
    dry_run: bool = Field(False, description="Decide, but record nothing and raise no approval request.")


class BatchIn(BaseModel):
    actions: list[CallIn] = Field(min_length=1, max_length=MAX_BATCH)
    actor: str | None = Field(None, min_length=1, max_length=150, description="Default actor of every action.")
    domain: str | None = Field(None, min_length=1, max_length=100, description="Default domain of every action.")


class EvaluateAnswer(BaseModel):
    request_id: str = Field(description="Identifies this decision (for a requires_approval answer, its approval).")
    validation_id: str
    allowed: bool
    result: str = Field(description="allowed, blocked or requires_approval.")
    requires_approval: bool
    human_review: bool
    enforcement_mode: str = Field(description="Always `enforced`: the dashboard's answer is final.")
    enforced_verdict: str
    recommendation: str = Field(description="proceed, review_recommended or do_not_proceed.")
    reason: str
    policy_ids: list[str]
    blocked_by: str | None
    approval_id: str | None
    approval_url: str | None
    dry_run: bool


class OutcomeIn(BaseModel):
    status: str = Field(min_length=1, max_length=30, description="What happened, e.g. executed, failed, blocked.")
    request_id: str | None = Field(None, max_length=100, description="The decision this outcome follows.")
    validation_id: str | None = Field(None, max_length=100)
    case_id: str | None = Field(None, max_length=100)
    description: str = Field("", max_length=2000)
    details: dict[str, Any] | None = None
    actual_impact: dict[str, Any] | None = None
    correction_needed: bool = False
    correction_description: str = Field("", max_length=2000)
    correction_cost: float | None = Field(None, allow_inf_nan=False)
    time_to_detect_s: float | None = Field(None, allow_inf_nan=False)
    time_to_resolve_s: float | None = Field(None, allow_inf_nan=False)
    rollback_performed: bool = False
    revenue_impact: float | None = Field(None, allow_inf_nan=False)
    customer_impact_count: int = Field(0, ge=0)
    support_tickets_created: int = Field(0, ge=0)
    observed_at: str | None = Field(None, max_length=64)
    reported_by: str = Field("", max_length=150)
    tags: list[str] | None = Field(None, max_length=50)
    recommendation_followed: bool | None = None
    production_action: str = Field("", max_length=64)
    human_final_action: str = Field("", max_length=200)
    outcome_label_quality: str = Field("", max_length=50)
    decision_snapshot: dict[str, Any] | None = None


class OutcomeAnswer(BaseModel):
    outcome_id: str
    request_id: str | None
    status: str
    reported_by: str
    reported_at: str
    details: dict[str, Any]


class MemoryEvent(BaseModel):
    """One governed execution event (`bighub.DecisionMemoryEvent`); other keys are kept as sent."""

    model_config = ConfigDict(extra="allow")

    event_id: str | None = Field(None, min_length=1, max_length=100, description="Deduplication key.")
    seq: int | None = None
    schema_version: int | None = None
    source_version: str | None = Field(None, max_length=100)
    tool: str | None = Field(None, max_length=64)
    status: str | None = Field(None, max_length=30)
    request_id: str | None = Field(None, max_length=100)
    actor: str | None = Field(None, max_length=150)
    domain: str | None = Field(None, max_length=100)
    decision: dict[str, Any] | None = None


class MemoryIn(BaseModel):
    events: list[MemoryEvent] = Field(max_length=MAX_MEMORY_EVENTS)
    source: str = Field(min_length=1, max_length=100)
    source_version: str | None = Field(None, max_length=100)
    actor: str | None = Field(None, min_length=1, max_length=150)
    domain: str | None = Field(None, min_length=1, max_length=100)
    model: str | None = Field(None, max_length=100)
    trace_id: str | None = Field(None, max_length=200)
    redact: bool = True
    redaction_policy: str = Field("default", max_length=50)


class MemoryAnswer(BaseModel):
    accepted: int = Field(description="Events stored now (an event_id already stored is not stored again).")
    total_stored: int = Field(description="Memory events stored for this actor.")
    source: str


class ApprovalItem(BaseModel):
    """An approval request (`bighub.ApprovalItem`, with what a waiting agent needs besides)."""

    request_id: str = Field(description="The request's id: what the evaluate answer's request_id named.")
    rule_id: str = Field(description="The first policy that asked for approval, or empty.")
    validation_id: str = Field(description="The id of the decision that raised it.")
    action: str
    actor: str
    domain: str
    value: float | None
    target: str | None
    arguments: dict[str, Any] = Field(description="What reviewers see: the arguments (redacted), or the value and "
                                      "target when no arguments were sent.")
    arguments_digest: str = Field(description="SHA-256 of what the call named: what an approval approves.")
    reason: str
    policy_ids: list[str]
    status: str = Field(description="pending, approved, denied or expired.")
    resolution: str | None = Field(description="The status once resolved; null while pending.")
    outcome: str | None = Field(description="Who or what resolved it, e.g. \"approved by rita\", "
                                "\"denied because olivia cancelled the run\", \"expired\".")
    resolved_by: str | None
    resolved_at: str | None
    comment: str = Field(description="The reviewer's comment (sent to the model with a denial).")
    created_at: str
    expires_at: str | None
    session: str
    run_id: str
    approval_url: str = Field(description="The request's page in the dashboard.")


class ResolveIn(BaseModel):
    resolution: Literal["approved", "denied", "rejected"] = Field(
        description="approved, or denied (BIGHUB's word `rejected` means the same).")
    comment: str | None = Field(None, max_length=2000, description="Sent to the model with a denial.")


class Error(BaseModel):
    detail: str


class FieldError(BaseModel):
    model_config = ConfigDict(extra="allow")

    loc: list[str | int]
    msg: str
    type: str


class ValidationErrors(BaseModel):
    detail: list[FieldError]


# --- rules: BIGHUB's `rules.validate` / `rules.validate_dry_run` / `rules.dry_run` (agents/rules.py) -----------

MAX_RULE_AMOUNT = 999_999_999_999.99  # what a tool's threshold can hold (DecimalField, 14 digits, 2 decimals)
MAX_REPLAY_DAYS = 90


class RuleValidateIn(BaseModel):
    """`bighub.RuleValidateRequest`: one call, decided as the current policy set decides it."""

    action: str = Field(min_length=1, max_length=64, description="The tool (action) to decide.")
    value: float | None = Field(None, allow_inf_nan=False, description="The amount policies compare.")
    actor: str | None = Field(None, min_length=1, max_length=150, description="Must be the key's actor.")
    domain: str | None = Field(
        None, min_length=1, max_length=100, description="Not in BIGHUB's request: one of the key's domains; omitted: "
        "the tool's domain when the key may act there, else the key's only domain.")
    rule_id: str | None = Field(None, min_length=1, max_length=100, description=(
        "A policy's name (or `<tool>-threshold`): the answer says whether it took part in the decision "
        "(`rule_matched`). The whole policy set decides either way."))
    metadata: dict[str, Any] | None = Field(
        None, description="As `context` of /actions/evaluate: `arguments`, `session_id`...")
    dry_run: bool | None = Field(None, description="Accepted; a validation never records anything either way.")


class RuleValidateAnswer(EvaluateAnswer):
    decision: str = Field(description="The outcome (allowed, blocked or requires_approval), as `result`.")
    outcome: str = Field(description="The dashboard's own word for it: the same as `result`.")
    action: str
    actor: str
    domain: str
    value: float | None
    rule_id: str | None
    rule_matched: bool | None = Field(description="Whether `rule_id` took part in the decision (null without one).")
    policy_version: int | None = Field(description="The policy set version that decided.")


class RuleDryRunIn(BaseModel):
    """`bighub.RuleCreateRequest`: a domain-wide rule, replayed over the recorded decisions, never saved."""

    name: str = Field("draft rule", min_length=1, max_length=100)
    domain: str = Field(min_length=1, max_length=100, description="One of the key's domains.")
    max_value: float | None = Field(None, ge=-MAX_RULE_AMOUNT, le=MAX_RULE_AMOUNT, allow_inf_nan=False,
                                    description="Calls of the domain's tools with a value above it are blocked.")
    require_approval_above: float | None = Field(
        None, ge=-MAX_RULE_AMOUNT, le=MAX_RULE_AMOUNT, allow_inf_nan=False,
        description="Calls of the domain's tools with a value above it require approval.")
    min_value: float | None = Field(None, allow_inf_nan=False, description="Not mapped (see `unsupported_fields`).")
    max_per_day: int | None = Field(None, ge=0, description="Not mapped (see `unsupported_fields`).")
    max_per_hour: int | None = Field(None, ge=0, description="Not mapped (see `unsupported_fields`).")
    cooldown_seconds: int | None = Field(None, ge=0, description="Not mapped (see `unsupported_fields`).")
    allowed_hours_start: int | None = Field(None, ge=0, le=24, description="Not mapped (see `unsupported_fields`).")
    allowed_hours_end: int | None = Field(None, ge=0, le=24, description="Not mapped (see `unsupported_fields`).")
    tags: list[str] | None = Field(None, max_length=50, description="Accepted; they decide nothing.")
    metadata: dict[str, Any] | None = Field(None, description="Accepted; it decides nothing.")
    days: int = Field(30, ge=1, le=MAX_REPLAY_DAYS, description="Not in BIGHUB's request: how many days of "
                      "recorded decisions to replay.")


class UnsupportedField(BaseModel):
    field: str
    value: Any
    reason: str
    tools: list[str] | None = Field(None, description="When the field is left out for some tools only: which.")


class ToolChanges(BaseModel):
    tool: str
    total: int = Field(description="Decisions of this tool replayed.")
    changed: int = Field(description="Of them, how many the rule decides otherwise.")


class RuleDryRunAnswer(BaseModel):
    dry_run: bool = Field(description="Always true: nothing is saved.")
    rule: dict[str, Any] = Field(description="The rule as sent (BIGHUB's keys), without `days`.")
    tools: list[str] = Field(description="The enabled tools registered in the domain: what the rule applies to.")
    draft_policy: dict[str, str] = Field(description="The Cedar policy the rule was replayed as ({name, cedar}).")
    days: int
    since: str
    until: str
    total: int = Field(description="Recorded decisions replayed.")
    changed: int = Field(description="Of them, how many the rule decides otherwise.")
    would_change: bool
    redacted: int = Field(description="Decisions replayed with redacted arguments.")
    matched: int = Field(description="Replayed decisions the rule's policy matched.")
    transitions: list[dict[str, Any]] = Field(
        description="{from, to, count}: recorded outcome, outcome with the rule, how many; most first.")
    by_tool: list[ToolChanges] = Field(description="Per tool replayed, its changes counted from `groups`.")
    groups_complete: bool = Field(description="False when `groups` was cut at 50 and `by_tool` undercounts.")
    groups: list[dict[str, Any]] = Field(description="{tool, actor, from, to, count}, most first, at most 50.")
    examples: list[dict[str, Any]] = Field(description="Changed decisions, at most 20, with their run.")
    example_failures: list[str] = Field(description="Policy examples the rule would break.")
    unsupported_fields: list[UnsupportedField] = Field(
        description="Fields of the rule the dashboard cannot map, each with why: they were not replayed.")
