"""The kill switch: pausing a tool, an actor, a domain or everything, resuming it, and the gate that
blocks every new decision a pause covers.

`pause(...)` and `resume(...)` are what the run page, the approvals queue and the admin call; both
check the permission (`permissions.may_pause`) and are recorded in the audit history as configuration
changes of `governance.Pause` (it is in GOVERNANCE_AUDITED_MODELS), in the same transaction.

`PauseGate` wraps a decision backend: before the backend decides (or re-checks an approved call just
before it runs), it reads the active pauses from the database and answers `blocked` with the pause's
reason ("tool refund_payment paused by rita at 2026-11-26 05:41:50 UTC") when one covers the call.
The dashboard's runs (`assembly.decision_backend`) and remote agents (`assembly.embedded_engine`,
which `agents.evaluate` decides with) both go through it. Nothing is cached in the process, so a
pause or a resume takes effect at the next decision of every worker. Being the one door of every
backend decision, the gate also makes its `governance.decide` span (governance/telemetry.py) and stamps
every decision with the policy set version it was made under (`policy_version`, governance/versions.py),
and compares it with the shadow policies (governance/shadow.py), recording where they differ; it lets a
policy's block or approval through in an observe-only domain (governance/observe.py), keeping what it
would have been on the decision (shadow policies are compared with that, the policies' own outcome); a
pause blocks there too. It also keeps what each first decision of a call was given
(governance/decision_inputs.py), for its caller to save with the call's rows: what a replay of a draft
policy set decides again (governance/replay.py).
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from governance import decision_inputs, observe, permissions, shadow, telemetry
from governance.decisions import ActionRequest, Decision
from governance.redaction import REDACTED, scrub_text

from .models import DecisionInput, Pause, PauseScope, ShadowDifference, ToolRegistration


class NotAllowed(PermissionError):
    """The user may not pause or resume (they lack `governance.pause_decisions`)."""


class PauseError(ValueError):
    """A pause that names nothing (a tool, actor or domain scope with no value) or an unknown scope."""


def pause(*, scope: str, value: str = "", by: Any) -> tuple[Pause, bool]:
    """Pause `scope` (`value` names the tool, actor or domain); returns the active pause and whether it is new.

    Side effects: one `Pause` row and its audit record. Pausing what is already paused changes nothing
    and returns the pause already in force (a second click, or two reviewers at once).
    """
    if not permissions.may_pause(by):
        raise NotAllowed("You may not pause decisions (permission governance.pause_decisions).")
    value = "" if scope == PauseScope.EVERYTHING else value.strip()
    if scope not in PauseScope.values:
        raise PauseError(f"unknown pause scope {scope!r}; expected one of {', '.join(PauseScope.values)}")
    if not value and scope != PauseScope.EVERYTHING:
        raise PauseError(f"name the {scope} to pause")
    existing = Pause.objects.active().filter(scope=scope, value=value).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return Pause.objects.create(scope=scope, value=value, paused_by=by,
                                        paused_by_name=by.get_username()), True
    except IntegrityError:  # another reviewer paused the same thing a moment ago: theirs is in force
        return Pause.objects.active().get(scope=scope, value=value), False


def resume(*, pause_id: int, by: Any) -> Pause | None:
    """End the pause; returns it, or None when it was already resumed (or never existed).

    Side effects: the pause's `resumed_at`/`resumed_by_name` set, with its audit record. A conditional
    update: of two reviewers clicking Resume at once, one resumes and the other changes nothing.
    """
    if not permissions.may_pause(by):
        raise NotAllowed("You may not resume decisions (permission governance.pause_decisions).")
    with transaction.atomic():
        # Locked so that the audit record's "before" is the row as this update found it.
        found = Pause.objects.select_for_update().active().filter(pk=pause_id).first()
        if found is None:
            return None
        found.resumed_at = timezone.now()
        found.resumed_by_name = by.get_username()
        found.save(update_fields=["resumed_at", "resumed_by_name"])
        return found


def covering_pause(action: ActionRequest) -> Pause | None:
    """The earliest active pause covering the call, read from the database now."""
    return Pause.objects.covering(tool=action.tool, actor=action.actor, domain=action.domain).first()


def paused_decision(action: ActionRequest, *, backend: str = "embedded") -> Decision | None:
    """`blocked`, saying who paused what and when, if a pause covers the call; else None."""
    found = covering_pause(action)
    if found is None:
        return None
    return Decision(outcome="blocked", reason=found.reason, request_id=str(uuid.uuid4()),
                    policy_ids=(f"pause:{found.what}",), backend=backend)


class PauseGate:
    """A decision backend that blocks what a pause covers and asks `backend` about everything else.

    Every other attribute (`resolve_approval`, `report_outcome`, `domain_defaults`...) is the backend's.
    `policy_version`: the policy set version the backend was built from, recorded on each decision.
    `shadows` (governance/shadow.py): the shadow policies each decision is compared with; a difference is
    saved at once with `run_id`, or, with `hold_shadow`, kept in `held` until `save_held` (a caller that
    writes its decisions later, in its own transaction, or never: a dry run).
    `source` ("dashboard" or "api"; None: nothing is recorded): each first decision's inputs are held
    (`held_inputs`) until `save_held` names the arguments as they are shown.
    """

    def __init__(self, backend: Any, *, policy_version: int | None = None, shadows: list[shadow.Shadow] | None = None,
                 run_id: Any = None, hold_shadow: bool = False, source: str | None = None) -> None:
        self.backend = backend
        self.policy_version = policy_version
        self.shadows = shadows or []
        self.run_id = run_id
        self.hold_shadow = hold_shadow
        self.held: list[ShadowDifference] = []
        self.source = source
        self.held_inputs: list[tuple[DecisionInput, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        if name == "backend":  # not set yet (a copy being made): no recursion
            raise AttributeError(name)
        return getattr(self.backend, name)

    def paused(self, action: ActionRequest) -> Decision | None:
        """The block for a call a pause covers, else None; for a decision made without the backend
        (a remote agent's call of a tool the dashboard does not know gets its domain's default)."""
        decision = paused_decision(action, backend=self.backend.name)
        return None if decision is None else self._versioned(decision)

    def evaluate(self, action: ActionRequest) -> Decision:
        with telemetry.decision_span(action) as span:
            paused = self.paused(action)
            if paused is not None:
                return _traced(span, action, self._versioned(paused))
            decision = self._versioned(self.backend.evaluate(action))
            if self.shadows:
                self._compare(action, decision)  # with what the policies decided, before observe-only
            if self.source is not None:
                self.held_inputs.append(decision_inputs.held(action, decision, source=self.source))
            return _traced(span, action, self._versioned(observe.let_through(action, decision)))

    def _compare(self, action: ActionRequest, decision: Decision) -> None:
        found = shadow.differences(self.shadows, action, decision, run_id=self.run_id)
        if self.hold_shadow:
            self.held.extend(found)
        elif found:
            ShadowDifference.objects.bulk_create(found)

    def save_held(self, *, request_id: str | None, run_id: Any, shown: dict[str, Any] | None = None) -> None:
        """Save the held differences and inputs of the decision `request_id`, naming the run it was recorded
        on. `shown`: the call as it may be stored (`governance.assembly.shown_call`: its "arguments", "value"
        and "target"), without which its inputs are not saved. One INSERT each, only for what
        is held."""
        key = request_id or ""
        mine = [d for d in self.held if d.request_id == key]
        if mine:
            self.held = [d for d in self.held if d.request_id != key]
            for difference in mine:
                difference.run_id = run_id
            ShadowDifference.objects.bulk_create(mine)
        inputs = [held for held in self.held_inputs if held[0].request_id == key]
        if inputs:
            self.held_inputs = [held for held in self.held_inputs if held[0].request_id != key]
            if shown is not None:
                decision_inputs.save(decision_inputs.shown(row, real, shown, run_id=run_id) for row, real in inputs)

    def recheck(self, action: ActionRequest) -> Decision:
        """The re-check of an approved call just before it runs: a pause blocks it too."""
        decide = getattr(self.backend, "recheck", None) or self.backend.evaluate
        with telemetry.decision_span(action, recheck=True) as span:
            decision = self.paused(action) or self.observed(action, decide)
            return _traced(span, action, self._versioned(decision))

    def observed(self, action: ActionRequest, decide: Any) -> Decision:
        """`decide(action)`, let through in an observe-only domain (governance/observe.py): a pause is checked
        before and is never let through."""
        return observe.let_through(action, decide(action))

    def _versioned(self, decision: Decision) -> Decision:
        if self.policy_version is None or decision.policy_version is not None:
            return decision
        return dataclasses.replace(decision, policy_version=self.policy_version)


def _traced(span: Any, action: ActionRequest, decision: Decision) -> Decision:
    """The decision, its outcome added to its span (only when tracing is on: it costs a query).

    The reason with secrets scrubbed, as in the logs; "[redacted]" for a tool with redacted fields,
    since a reason may quote the call's value or a backend's message its arguments.
    """
    if span.is_recording():
        hides = ToolRegistration.objects.filter(name=action.tool).exclude(redact_fields="").exists()
        reason = REDACTED if hides else scrub_text(decision.reason)
        span.set_attributes(telemetry.decision_attributes(decision, reason=reason))
    return decision


def shown_to(user: Any) -> dict[str, Any]:
    """What a page's pause banner needs: the active pauses, and whether this user may pause and resume."""
    return {"active_pauses": list(Pause.objects.active().order_by("paused_at", "pk")),
            "may_pause": permissions.may_pause(user)}
