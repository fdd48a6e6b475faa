"""Approval requests as the API shows them to a key: which it may see, as `ApprovalItem`s, and resolving.

- Every key sees only the requests its actor raised (in the remote runs of that actor), in its
  domains: a key is bound to one actor, so a key for actor A never reads or resolves actor B's.
- An **agent** key never resolves: "approvals are decided by reviewers in the dashboard" (403), and
  nothing changes.
- An **approver** key sees, of those, what its dashboard user sees in the browser
  (`governance.permissions`), and resolves as that user, under that user's rules
  (`approvals.services.resolve_approval`: the reviewers' permission, no self-approval). Resolving a
  resolved request the way it went answers it as it is; the other way is a conflict (409), and
  nothing changes.

A request another key may not see is answered as one that does not exist (404), so a key learns
nothing of other actors' requests. An item has the SDK's `ApprovalItem` fields (`request_id`,
`rule_id`, `validation_id`, `action`, `actor`, `value`, `status`, `created_at`) and what a waiting
agent needs besides: the resolution's words, who, when and the comment, what was approved (arguments
as reviewers saw them, and the digest of the call), the expiry and the request's page.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from approvals.models import ApprovalRequest, ApprovalStatus
from approvals.services import AlreadyApproved, AlreadyResolved, NotAllowed, resolve_approval
from runs.models import RunOrigin

from .models import AgentKey, AgentKeyRole

DECIDED_IN_THE_DASHBOARD = "approvals are decided by reviewers in the dashboard"
# The status filter's words: the dashboard's, with BIGHUB's "rejected" for a denial and "all".
STATUS_FILTERS = {"pending": ApprovalStatus.PENDING, "approved": ApprovalStatus.APPROVED,
                  "denied": ApprovalStatus.DENIED, "rejected": ApprovalStatus.DENIED,
                  "expired": ApprovalStatus.EXPIRED, "all": None}
RESOLUTIONS = {"approved": ApprovalStatus.APPROVED, "denied": ApprovalStatus.DENIED,
               "rejected": ApprovalStatus.DENIED}


class ApprovalNotFound(Exception):
    """No request with this id that the key may see (HTTP 404)."""


class ResolveRefused(Exception):
    """A resolution the key may not make (403) or that contradicts the one made (409); nothing changed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def visible_to(key: AgentKey) -> QuerySet[ApprovalRequest]:
    """The requests this key may read (see the module docstring)."""
    raised = ApprovalRequest.objects.filter(run__origin=RunOrigin.REMOTE, run__actor=key.actor,
                                            decision__domain__in=key.domains)
    return raised.visible_to(key.user) if key.role == AgentKeyRole.APPROVER else raised


def find(key: AgentKey, request_id: str) -> ApprovalRequest:
    """The request named `request_id` (its id, as text), if this key may see it; raises ApprovalNotFound."""
    if not request_id.isascii() or not request_id.isdigit() or len(request_id) > 18:
        raise ApprovalNotFound(f"approval request {request_id!r} not found")
    approval = visible_to(key).select_related("run", "resolved_by").filter(pk=int(request_id)).first()
    if approval is None:
        raise ApprovalNotFound(f"approval request {request_id!r} not found")
    return approval


def listed(*, key: AgentKey, status: str, limit: int, base_url: str) -> list[dict[str, Any]]:
    """The newest `limit` requests with this status (`STATUS_FILTERS`) the key may see, as items."""
    approvals = visible_to(key).select_related("resolved_by")
    if STATUS_FILTERS[status] is not None:
        approvals = approvals.filter(status=STATUS_FILTERS[status])
    return [item(approval, base_url=base_url) for approval in approvals.order_by("-requested_at", "-pk")[:limit]]


def item(approval: ApprovalRequest, *, base_url: str) -> dict[str, Any]:
    """The request as an `ApprovalItem`, with its page under `base_url`."""
    return {**fields(approval), "approval_url": base_url.rstrip("/") + reverse("approvals:detail", args=[approval.pk])}


def fields(approval: ApprovalRequest) -> dict[str, Any]:
    """Everything of an item but its page (which depends on the address the key called)."""
    decision = approval.decision if isinstance(approval.decision, dict) else {}
    policy_ids = list(approval.policy_ids or [])
    resolved = not approval.is_pending
    return {
        "request_id": str(approval.pk),
        "rule_id": policy_ids[0] if policy_ids else "",
        "validation_id": str(decision.get("request_id") or ""),
        "action": approval.tool,
        "actor": str(decision.get("actor") or ""),
        "domain": str(decision.get("domain") or ""),
        "value": decision.get("value"),
        "target": decision.get("target"),
        "arguments": approval.arguments,
        "arguments_digest": approval.arguments_digest,
        "reason": approval.reason,
        "policy_ids": policy_ids,
        "status": approval.status,
        "resolution": approval.status if resolved else None,
        "outcome": approval.outcome if resolved else None,
        "resolved_by": approval.resolved_by.get_username() if approval.resolved_by_id else None,
        "resolved_at": approval.resolved_at.isoformat() if approval.resolved_at else None,
        "comment": approval.comment,
        "created_at": approval.requested_at.isoformat(),
        "expires_at": approval.expires_at.isoformat() if approval.expires_at else None,
        "session": str(decision.get("session") or ""),
        "run_id": str(approval.run_id),
    }


def resolve(*, key: AgentKey, request_id: str, resolution: str, comment: str, base_url: str) -> dict[str, Any]:
    """Approve or deny (`RESOLUTIONS`) a request as the approver key's user; answers the request as an item.

    Side effects: those of `approvals.services.resolve_approval` (the request resolved by the user, its
    audit record naming the key, `approval_resolved`), or none when it was resolved this way before.
    Raises ResolveRefused (403 for an agent key or a user who may not resolve it, 409 when it was
    resolved the other way or expired) or ApprovalNotFound.
    """
    if key.role != AgentKeyRole.APPROVER:
        raise ResolveRefused(403, DECIDED_IN_THE_DASHBOARD)
    approval = find(key, request_id)
    wanted = RESOLUTIONS[resolution]
    try:
        approval = resolve_approval(approval=approval, reviewer=key.user, resolution=wanted, comment=comment,
                                    via=f"API key {key.name} (gd_live_{key.prefix}_…)")
    except NotAllowed as exc:
        raise ResolveRefused(403, str(exc)) from None
    except AlreadyApproved as exc:  # this key's user has approved; the request waits for other reviewers
        raise ResolveRefused(409, str(exc)) from None
    except AlreadyResolved as exc:
        approval = find(key, request_id)
        if approval.status != wanted:
            raise ResolveRefused(409, str(exc)) from None
    return item(approval, base_url=base_url)
