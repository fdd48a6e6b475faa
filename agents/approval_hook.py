"""The one place where a remote agent's `requires_approval` answer becomes something a reviewer decides.

`agents.evaluate.evaluate_calls` calls `on_requires_approval` for every requires_approval decision,
inside the transaction that records the decision, before answering. It raises an `ApprovalRequest`
in the run of the agent's session (`approvals.services.create_remote_request`), bound to a digest of
everything the call names (action, actor, domain, value, target, and `context.arguments` when sent)
and showing reviewers the arguments (redacted) when sent, else the value and target. The request is
then in the reviewers' live queue with the same expiry, separation of duties and audit records as a
dashboard run's. What it returns shapes the answer: `request_id` (the request's id, as a string: what
GET /approvals/{id} and POST /approvals/{id}/resolve take) and `approval_url` (its page in the dashboard).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from django.urls import reverse

from approvals.grants import settle_by_grant
from approvals.services import call_digest, create_remote_request
from governance.decisions import Decision
from runs.models import Run

if TYPE_CHECKING:
    from .evaluate import RemoteCall
    from .models import AgentKey


@dataclass(frozen=True)
class ApprovalTicket:
    """What a raised approval request gives the answer."""

    request_id: str
    approval_url: str
    approval_id: int | None = None  # the ApprovalRequest's id, when one was raised


def granted(*, call: RemoteCall, decision: Decision, run: Run) -> Decision:
    """The decision after sticky grants (approvals/grants.py): a requires_approval call an active grant
    covers is allowed (an approve grant) or blocked (a deny grant), naming the grant, and no request is
    raised; every other decision is returned as it was (a grant never widens past policy).
    Called inside the transaction that records the decision. Side effects: the grant's use and its audit
    record."""
    if not decision.requires_approval:
        return decision
    settled = settle_by_grant(run=run, tool=call.action, call_id=decision.request_id or "")
    if settled is None:
        return decision
    grant = settled[0]
    return replace(decision, outcome="allowed" if grant.effect == "approve" else "blocked",
                   reason=f"{grant.described}; policy asked for review: {decision.reason}")


def on_requires_approval(*, key: AgentKey, call: RemoteCall, decision: Decision, session: str, run: Run,
                         shown: dict[str, Any], base_url: str) -> ApprovalTicket:
    """Raise the approval request for a call the dashboard says requires approval, in its session's `run`.

    `shown` is what may be stored of the call (`activity.shown_call`); `base_url` the dashboard's public
    address (`approval_url` is the request's page there). Called inside the transaction that records the
    decision (an exception rolls both back). Side effects: one ApprovalRequest row.
    """
    arguments = shown["arguments"]
    if arguments is None:  # the published adapter names only these
        arguments = {name: shown[name] for name in ("value", "target") if shown[name] is not None}
    approval = create_remote_request(
        run=run, call_id=decision.request_id, tool=call.action, shown_arguments=arguments,
        digest=call_digest(action=call.action, actor=call.actor, domain=call.domain, value=call.value,
                           target=call.target, arguments=call.arguments),
        decision={"source": "api", "outcome": decision.outcome, "reason": decision.reason,
                  "policy_ids": list(decision.policy_ids), "request_id": decision.request_id,
                  "backend": decision.backend, "actor": call.actor, "domain": call.domain, "key": key.name,
                  "session": session, "value": shown["value"], "target": shown["target"]},
    )
    url = base_url.rstrip("/") + reverse("approvals:detail", args=[approval.pk])
    return ApprovalTicket(request_id=str(approval.pk), approval_url=url, approval_id=approval.pk)
