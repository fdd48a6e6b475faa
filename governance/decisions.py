"""The decision contract shared by the guarded runner and every decision backend.

A backend receives an `ActionRequest` (one proposed tool call, with the actor, domain and the
value/target extracted from its arguments) and answers a `Decision`. Both are plain dataclasses
that round-trip through `to_dict()`/`from_dict()`, so a paused run can be stored as JSON and a
decision can be shown in the dashboard exactly as the runner saw it.

This module imports neither Django nor any SDK: the runner is a library usable from a script.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Outcome = Literal["allowed", "blocked", "requires_approval"]
OUTCOMES: tuple[str, ...] = ("allowed", "blocked", "requires_approval")

Resolution = Literal["approved", "rejected"]


class DecisionBackendError(RuntimeError):
    """The backend could not produce a decision (network, bad policy store, bad reply).

    The runner applies its fail mode to this error: closed blocks the call, open lets it run.
    """


class ApprovalReadError(DecisionBackendError):
    """The control plane did not tell whether a paused call was approved.

    `transient` (the network, a timeout, 408/425/429/5xx): asking again later may work;
    otherwise (refused key, unknown request, a reply that names no status) it will not.
    `retry_after_seconds` is the server's own hint, when it gave one.
    """

    def __init__(self, message: str, *, transient: bool, retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class ActionRequest:
    """One proposed tool call, as a policy sees it."""

    tool: str
    arguments: dict[str, Any]
    actor: str
    domain: str
    action: str = ""  # the policy-facing action name; defaults to the tool name
    value: float | None = None
    target: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    decision_mode: str = "submit"
    trace_id: str | None = None
    call_id: str | None = None

    @property
    def action_name(self) -> str:
        return self.action or self.tool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    """A backend's verdict on one `ActionRequest`.

    `reason` is written for a human reviewer; `policy_ids` names the policies that matched;
    `raw` keeps the backend's own reply (the BIGHUB JSON, or the Cedar diagnostics); `policy_version`
    is the number of the dashboard's policy set version that made it (None: a backend without one);
    `observed_outcome` what the policies decided when an observe-only domain let the call through.
    """

    outcome: Outcome
    reason: str
    request_id: str | None = None
    policy_ids: tuple[str, ...] = ()
    backend: str = "embedded"
    approval_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    policy_version: int | None = None
    # In an observe-only domain (governance/observe.py): the outcome the policies gave, when the call was
    # let through anyway; None otherwise.
    observed_outcome: str | None = None

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown decision outcome {self.outcome!r}; expected one of {OUTCOMES}")

    @property
    def allowed(self) -> bool:
        return self.outcome == "allowed"

    @property
    def requires_approval(self) -> bool:
        return self.outcome == "requires_approval"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["policy_ids"] = list(self.policy_ids)
        data["allowed"] = self.allowed
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        return cls(
            outcome=data["outcome"],
            reason=data.get("reason", ""),
            request_id=data.get("request_id"),
            policy_ids=tuple(data.get("policy_ids") or ()),
            backend=data.get("backend", "embedded"),
            approval_id=data.get("approval_id"),
            raw=dict(data.get("raw") or {}),
            policy_version=data.get("policy_version"),
            observed_outcome=data.get("observed_outcome"),
        )


@runtime_checkable
class DecisionBackend(Protocol):
    """What the synchronous runner needs from a decision backend."""

    name: str

    def evaluate(self, action: ActionRequest) -> Decision:
        """Decide one action. Raises `DecisionBackendError` when no decision can be made."""
        ...

    def resolve_approval(self, decision: Decision, *, resolution: Resolution, comment: str = "") -> dict[str, Any]:
        """Record a reviewer's resolution of a `requires_approval` decision; returns the backend's reply."""
        ...

    def report_outcome(self, action: ActionRequest, decision: Decision, *, status: str, output: Any) -> None:
        """Tell the backend what happened after the decision (best effort)."""
        ...

    def ingest_memory(self, events: list[dict[str, Any]], *, source: str, timeout_seconds: float) -> None:
        """Send governed execution events to the backend's memory (best effort, may raise)."""
        ...


@runtime_checkable
class AsyncDecisionBackend(Protocol):
    """The asynchronous twin of `DecisionBackend`, used by `AsyncGuardedOpenAI`."""

    name: str

    async def evaluate(self, action: ActionRequest) -> Decision: ...

    async def resolve_approval(
        self, decision: Decision, *, resolution: Resolution, comment: str = ""
    ) -> dict[str, Any]: ...

    async def report_outcome(
        self, action: ActionRequest, decision: Decision, *, status: str, output: Any
    ) -> None: ...

    async def ingest_memory(
        self, events: list[dict[str, Any]], *, source: str, timeout_seconds: float
    ) -> None: ...
