"""Sticky grants: a reviewer's approve or deny that settles later calls of one tool without a request.

A grant is made from an approval page with the resolution of that request (`resolve_with_grant`):
"approve, and approve this tool for the rest of this run", "... for this actor for N minutes", "deny,
and deny this tool for the rest of this run". Until it ends (its run ends, its minutes pass) or is
revoked (`revoke_grant`), `settle_by_grant` settles each call of that tool in its scope that policy
sends to review, instead of raising a request; both callers use it: the run's worker (runs/worker.py)
and a remote agent's call (agents/approval_hook.py). A grant never widens past policy: only a
`requires_approval` call is ever offered to it (a blocked call stays blocked), and a call it approves
is re-checked against policy before it runs, as any approved call is.

Every grant made, revoked or settling a call writes its audit record naming the grant's id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from django.db import transaction
from django.utils import timezone

from audit.recorders import record_grant
from governance import permissions
from governance.guard import PendingApproval

from .models import ApprovalRequest, Grant, GrantEffect, GrantScope, GrantUse
from .services import ApprovalError, NotAllowed, resolve_approval

MAX_GRANT_MINUTES = 24 * 60


@dataclass(frozen=True)
class GrantSettlement:
    """A waiting call a grant settled, as the runner is to be told it (like `resolutions.Resolution`)."""

    grant_id: int
    call_id: str
    tool: str
    resolution: Literal["approved", "rejected"]  # the runner's words (governance.guard.loop)
    comment: str  # what the runner is told (and, with a denial, the model): names the grant
    outcome: str  # for the run's timeline: "approved by grant #3 of rita (the rest of run 1a2b3c4d)"
    reviewer: str = ""  # the username of who granted it
    approval_id: None = None  # no request was raised (what a `Resolution` names there)
    arguments: None = None  # a grant never edits a call: it runs with the arguments the model gave
    note: str = ""


def may_grant(user, approval: ApprovalRequest) -> bool:
    """Whoever may resolve the request may make a grant from it."""
    return permissions.may_resolve(user, approval)


def may_revoke(user) -> bool:
    """Any reviewer may revoke any grant, at once (stopping is never less safe than going on)."""
    return permissions.is_reviewer(user)


def resolve_with_grant(*, approval: ApprovalRequest, reviewer, resolution: Literal["approved", "denied"],
                       scope: str, minutes: int | None = None, comment: str = "",
                       deny_reason_id: int | None = None) -> Grant:
    """Resolve `approval` as `resolution` and make a grant with the same effect for later calls of its tool.

    `scope` is "run" (the rest of the request's run) or "actor" (the run's actor for `minutes`).
    Side effects, in one transaction: the request's resolution (`services.resolve_approval`: its audit
    record and `approval_resolved`), the Grant row and its audit record. Raises NotAllowed,
    AlreadyResolved (nothing is granted), or ApprovalError for a scope or minutes that make no sense.
    """
    if scope not in GrantScope.values:
        raise ApprovalError(f"a grant's scope is 'run' or 'actor', not {scope!r}")
    ends_at = None
    if scope == GrantScope.ACTOR:
        if minutes is None or not 1 <= minutes <= MAX_GRANT_MINUTES:
            raise ApprovalError(f"a grant for this actor needs between 1 and {MAX_GRANT_MINUTES} minutes")
        if approval.run.origin == "remote" and not approval.run.actor:
            raise ApprovalError("this run names no actor, so there is no actor to grant for")
        if approval.run.origin != "remote" and not approval.run.started_by_id:
            raise ApprovalError("nobody started this run, so there is no actor to grant for")
        ends_at = timezone.now() + timedelta(minutes=minutes)
    with transaction.atomic():
        resolve_approval(approval=approval, reviewer=reviewer, resolution=resolution, comment=comment,
                         deny_reason_id=deny_reason_id)
        run = approval.run
        remote_actor = scope == GrantScope.ACTOR and run.origin == "remote"
        grant = Grant.objects.create(
            effect=GrantEffect.APPROVE if resolution == "approved" else GrantEffect.DENY, tool=approval.tool,
            scope=scope, run=run, ends_at=ends_at, approval=approval, granted_by=reviewer, comment=comment.strip(),
            actor=run.actor if remote_actor else "",
            actor_user_id=run.started_by_id if scope == GrantScope.ACTOR and not remote_actor else None,
        )
        record_grant(what="grant_created", grant_id=grant.pk, effect=grant.effect, tool=grant.tool,
                     scope=grant.scope_text, by=reviewer.get_username(), run_id=run.pk, approval_id=approval.pk,
                     reason=f"{grant.effect} {grant.tool} for {grant.scope_text}")
    return grant


def revoke_grant(*, grant_id: int, by) -> Grant | None:
    """Revoke an active grant, at once; returns it, or None if it had already been revoked or ended.

    It waits for a call being settled under the grant (`settle_by_grant` holds the grant's row): that
    call keeps its settlement, every later one finds the grant revoked.
    Side effects: the row's revoked_at/revoked_by and an audit record. Raises NotAllowed.
    """
    if not may_revoke(by):
        raise NotAllowed("only reviewers may revoke grants")
    with transaction.atomic():
        # The grant's row first: a call being settled under it (`settle_by_grant` holds the row) commits
        # before, so every settlement is earlier than the revocation and none comes after it.
        Grant.objects.select_for_update().filter(pk=grant_id).first()
        now = timezone.now()
        changed = Grant.objects.active(now).filter(pk=grant_id).update(revoked_at=now, revoked_by=by)
        if changed != 1:
            return None
        grant = Grant.objects.select_related("granted_by", "actor_user").get(pk=grant_id)
        record_grant(what="grant_revoked", grant_id=grant.pk, effect=grant.effect, tool=grant.tool,
                     scope=grant.scope_text, by=by.get_username(), run_id=grant.run_id,
                     reason=f"revoked: {grant.effect} {grant.tool} for {grant.scope_text}")
    return grant


def settle_by_grant(*, run, tool: str, call_id: str) -> tuple[Grant, GrantUse] | None:
    """The grant that settles this call, which policy says requires approval, or None: raise a request then.

    The one place both paths ask (the worker for a run's call, the agents' API for a remote call), and
    only for a `requires_approval` decision. Call inside the transaction that records the call: the
    matching grant's row stays locked until it commits, so a revocation either comes first (and this
    finds no grant) or waits for this settlement. Idempotent per (run, call id).
    Side effects: one GrantUse row and its audit record naming the grant.
    """
    grant = (Grant.objects.covering(run=run, tool=tool).select_for_update(of=("self",))
             .select_related("granted_by", "actor_user").first())
    if grant is None:
        return None
    use, created = GrantUse.objects.get_or_create(run=run, call_id=call_id,
                                                  defaults={"grant": grant, "tool": tool, "effect": grant.effect})
    if created:
        record_grant(what="grant_settled", grant_id=grant.pk, effect=grant.effect, tool=tool, scope=grant.scope_text,
                     by=grant.granted_by.get_username(), run_id=run.pk, call_id=call_id, reason=grant.described)
    elif use.grant_id != grant.pk:
        grant = Grant.objects.select_related("granted_by", "actor_user").get(pk=use.grant_id)
    return grant, use


def settlements_to_apply(*, run_id, waiting: Iterable[PendingApproval]) -> list[GrantSettlement]:
    """The calls `waiting` lists that a grant settled, in the order they were settled. One query."""
    calls = {p.call_id for p in waiting}
    if not calls:
        return []
    uses = (GrantUse.objects.filter(run_id=run_id, call_id__in=calls)
            .select_related("grant", "grant__granted_by", "grant__actor_user"))
    return [_as_told(use) for use in uses]


def _as_told(use: GrantUse) -> GrantSettlement:
    described = use.grant.described
    return GrantSettlement(grant_id=use.grant_id, call_id=use.call_id, tool=use.tool,
                           resolution="approved" if use.effect == GrantEffect.APPROVE else "rejected",
                           comment=described, outcome=described, reviewer=use.grant.granted_by.get_username())
