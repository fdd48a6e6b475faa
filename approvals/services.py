"""Approval requests: raising them for paused calls (a dashboard run's, or a remote agent's), and
resolving them (by a reviewer or expiry).

A request moves out of `pending` exactly once, through a conditional UPDATE: whichever reviewer's
click commits first wins, and everyone else gets `AlreadyResolved` naming who did what. A resolution
is announced with the `approval_resolved` signal (a new request with `approval_requested`); `runs`
queues the resume after the commit, and it is the run's worker, not this module, that runs the tool;
`notifications` tells reviewers and webhooks. Live pages are nudged by `runs` too (its
receiver of that signal, and the run events written with every other change), not from here.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.recorders import record_approval_resolution
from governance import permissions

from .models import ApprovalRequest, ApprovalStatus, DenyReason, ResolutionCause
from .signals import approval_requested, approval_resolved

if TYPE_CHECKING:
    from .edits import AppliedEdit


class ApprovalError(Exception):
    """A resolution that cannot be made; the message is meant for the reviewer."""


class NotAllowed(ApprovalError):
    pass


class AlreadyResolved(ApprovalError):
    pass


def arguments_digest(tool: str, arguments: dict[str, Any]) -> str:
    """SHA-256 of the tool name and its arguments as canonical JSON (sorted keys, no spaces)."""
    return _digest({"tool": tool, "arguments": arguments})


def _digest(named: dict[str, Any]) -> str:
    canonical = json.dumps(named, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def call_digest(*, action: str, actor: str, domain: str, value: float | None, target: str | None,
                arguments: dict[str, Any] | None) -> str:
    """SHA-256 of everything a remote agent's call names (canonical JSON): what its request approves."""
    return _digest({"action": action, "actor": actor, "domain": domain, "value": value, "target": target,
                    "arguments": arguments})


def _expiry():
    ttl = settings.GOVERNANCE_APPROVAL_TTL_SECONDS
    return timezone.now() + timedelta(seconds=ttl) if ttl else None


def create_remote_request(*, run, call_id: str, tool: str, digest: str, shown_arguments: dict[str, Any],
                          decision: dict[str, Any]) -> ApprovalRequest:
    """Raise the approval request for a remote agent's call, in its session's run (runs/remote.py).

    `digest` is `call_digest` of what the call names; `shown_arguments` (redacted) are what reviewers
    read. Same expiry, queue, separation of duties and audit as a dashboard run's request.
    Side effects: one ApprovalRequest row and `approval_requested`. The caller appends the run's events
    (which nudge live pages).
    """
    approval = ApprovalRequest.objects.create(
        run=run, call_id=call_id, tool=tool, arguments=shown_arguments, arguments_digest=digest, decision=decision,
        reason=decision.get("reason", ""), policy_ids=list(decision.get("policy_ids") or []), expires_at=_expiry(),
    )
    approval_requested.send(sender=ApprovalRequest, approval=approval)
    return approval


def create_request(*, run, event: dict[str, Any], shown_arguments: dict[str, Any] | None = None) -> ApprovalRequest:
    """Raise the approval request for a call the runner paused; idempotent per (run, call id).

    The digest binds the real arguments; `shown_arguments` (redacted) are what the row keeps for
    reviewers to read.

    Side effects: one ApprovalRequest row and `approval_requested` (both only once). The caller's run
    event nudges live pages.
    """
    decision = event["decision"]
    request, created = ApprovalRequest.objects.get_or_create(
        run=run,
        call_id=event["call_id"],
        defaults={
            "tool": event["tool"],
            "arguments": event["arguments"] if shown_arguments is None else shown_arguments,
            "arguments_digest": arguments_digest(event["tool"], event["arguments"]),
            "decision": decision,
            "reason": decision.get("reason", ""),
            "policy_ids": list(decision.get("policy_ids") or []),
            "expires_at": _expiry(),
        },
    )
    if created:
        approval_requested.send(sender=ApprovalRequest, approval=request)
    return request


def resolve_approval(
    *,
    approval_id: int | None = None,
    approval: ApprovalRequest | None = None,
    reviewer,
    resolution: Literal["approved", "denied"],
    comment: str = "",
    deny_reason_id: int | None = None,
    via: str = "",
    edit: AppliedEdit | None = None,
) -> ApprovalRequest:
    """Approve or deny one pending request, once.

    Side effects: the request row moves to approved/denied, resolved by the reviewer (cause "review")
    with time and comment, its audit record (naming `via`, the API key an integration used, if any), and
    `approval_resolved` (runs queues the resume after commit).
    Give `approval_id`, or the `approval` row the caller has just read with its run (the page has),
    which spares reading it again. Raises NotAllowed (no permission, own run, unknown id) or
    AlreadyResolved. `edit`: an approval of the call with a reviewer's edited arguments (approvals/edits.py
    builds it; the row and the audit record then keep both argument sets).
    """
    if resolution not in ("approved", "denied"):
        raise ApprovalError(f"resolution must be 'approved' or 'denied', not {resolution!r}")
    if approval is None:
        approval = ApprovalRequest.objects.select_related("run").filter(pk=approval_id).first()
    if approval is None:
        raise NotAllowed(f"there is no approval request {approval_id}")
    if not permissions.may_resolve(reviewer, approval):
        if permissions.is_reviewer(reviewer):
            raise NotAllowed("you started this run, so someone else must review its requests")
        raise NotAllowed("only members of the reviewers group may approve or deny")
    comment = _comment_with_reason(comment.strip(), deny_reason_id if resolution == "denied" else None)
    resolved = {"status": resolution, "resolved_by": reviewer, "cause": ResolutionCause.REVIEW,
                "resolved_at": timezone.now(), "comment": comment}
    if edit is not None and resolution == "approved":
        resolved.update(edit.row_fields())
    with transaction.atomic():
        # The conditional UPDATE is the claim: a second click, or a second reviewer, changes no row.
        changed = ApprovalRequest.objects.filter(pk=approval.pk, status=ApprovalStatus.PENDING).update(**resolved)
        if changed != 1:
            approval = ApprovalRequest.objects.select_related("resolved_by").get(pk=approval.pk)
            raise AlreadyResolved(_already_message(approval))
        _set(approval, resolved)
        record_approval_resolution(approval, reviewer=reviewer.get_username(), via=via,
                                   **(edit.audit_values() if edit is not None else {}))
        approval_resolved.send(sender=ApprovalRequest, approval=approval)
    return approval


def expire_overdue(now=None) -> int:
    """Expire every pending request past its expiry; each counts as a denial. Returns how many.

    Side effects per request: the row moves to expired, its audit record, `approval_resolved`.
    """
    count = 0
    for approval in ApprovalRequest.objects.overdue(now).select_related("run"):
        expired = {
            "status": ApprovalStatus.EXPIRED,
            "cause": ResolutionCause.EXPIRY,
            "resolved_at": timezone.now(),
            "comment": f"expired: nobody approved within {settings.GOVERNANCE_APPROVAL_TTL_SECONDS} seconds",
        }
        with transaction.atomic():
            changed = ApprovalRequest.objects.filter(pk=approval.pk, status=ApprovalStatus.PENDING).update(**expired)
            if changed == 1:
                count += 1
                _set(approval, expired)
                record_approval_resolution(approval)
                approval_resolved.send(sender=ApprovalRequest, approval=approval)
    return count


def deny_for_cancelled_run(run_id, *, cancelled_by) -> list[ApprovalRequest]:
    """Deny every pending request of a run `cancelled_by` (a user) just cancelled; returns them.

    Each names that person (`resolved_by`, and the reviewer of its audit record). Call inside the
    transaction that cancels the run, with the run's events (which nudge live pages).
    """
    return _deny_pending(run_id, cause=ResolutionCause.RUN_CANCELLED, by=cancelled_by, comment="")


def deny_for_failed_run(run_id, *, error: str) -> list[ApprovalRequest]:
    """Deny every pending request of a run that just failed, naming no person; returns them.

    Call inside the transaction that fails the run, with the run's events (which nudge live pages).
    """
    return _deny_pending(run_id, cause=ResolutionCause.RUN_FAILED, by=None, comment="the run failed: " + error)


def _deny_pending(run_id, *, cause: ResolutionCause, by, comment: str) -> list[ApprovalRequest]:
    # Locked, in the caller's transaction: a reviewer's approval committing meanwhile (its conditional
    # UPDATE) is either seen here as no longer pending, or waits and then finds nothing to change, so
    # an approval an agent was already told about is never turned into a denial.
    pending = list(ApprovalRequest.objects.select_for_update().filter(run_id=run_id, status=ApprovalStatus.PENDING))
    denied = {"status": ApprovalStatus.DENIED, "cause": cause, "resolved_by": by, "resolved_at": timezone.now(),
              "comment": comment}
    ApprovalRequest.objects.filter(pk__in=[a.pk for a in pending]).update(**denied)
    for approval in pending:
        _set(approval, denied)
        record_approval_resolution(approval, reviewer=by.get_username() if by else "")
    return pending


def _set(approval: ApprovalRequest, fields: dict[str, Any]) -> None:
    """Give the in-memory row what the UPDATE just wrote (no second read of the row)."""
    for name, value in fields.items():
        setattr(approval, name, value)


def _comment_with_reason(comment: str, deny_reason_id: int | None) -> str:
    if deny_reason_id is None:
        return comment
    reason = DenyReason.objects.filter(pk=deny_reason_id, active=True).first()
    if reason is None:
        raise ApprovalError("that preset deny reason does not exist or is no longer offered")
    return f"{reason.text}: {comment}" if comment else reason.text


def _already_message(approval: ApprovalRequest) -> str:
    when = timezone.localtime(approval.resolved_at).strftime("%H:%M:%S") if approval.resolved_at else "earlier"
    return f"Already {approval.outcome} at {when}; nothing was changed."
