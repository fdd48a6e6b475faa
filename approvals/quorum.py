"""Quorum: a request whose tool needs more than one approval (`ToolRegistration.approvals_needed`), and the
reviewer groups' say on who may decide one request.

A quorum request takes approvals from different reviewers (never whoever started the run, which
governance.permissions refuses), each stored as an `ApprovalVote` row with its audit record. The vote that
makes the quorum goes on to `approvals.services.resolve_approval`'s conditional UPDATE, which moves the
request to approved once; one denial resolves it at once. A reviewer has one voice: having approved, they
neither approve again nor deny. Requests of a tool needing one approval keep no vote rows: the resolution
is the vote. The tool's setting when a vote is cast counts (an admin lowering it does not resolve waiting
requests until the next vote).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Subquery
from django.db.models.functions import Coalesce

from audit.recorders import record_approval_vote
from governance import permissions
from governance.models import ToolRegistration

from . import reviewer_groups
from .errors import AlreadyApproved, NotAllowed
from .models import ApprovalRequest, ApprovalStatus, ApprovalVote


@dataclass(frozen=True)
class Progress:
    """Who has approved a quorum request so far, in the order they did."""

    needed: int
    approved_by: tuple[str, ...]

    def __str__(self) -> str:
        """As the page says it: "1 of 2 approvals: rita"."""
        said = f"{len(self.approved_by)} of {self.needed} approvals"
        return f"{said}: {', '.join(self.approved_by)}" if self.approved_by else said


@dataclass(frozen=True)
class _Rules:
    in_group: bool  # the tool's (else the domain's) reviewer groups let the user decide it
    needed: int
    already_approved: bool
    pending: bool


def _rules_for(user: Any, approval: ApprovalRequest) -> _Rules:
    """What decides whether `user` may vote on `approval` now, in one query."""
    needed = ToolRegistration.objects.filter(name=OuterRef("tool")).values("approvals_needed")[:1]
    row = (
        reviewer_groups.with_domain(ApprovalRequest.objects.filter(pk=approval.pk))
        .annotate(in_group=ExpressionWrapper(reviewer_groups.allowing(user), output_field=BooleanField()),
                  needed=Coalesce(Subquery(needed), 1),
                  voted=Exists(ApprovalVote.objects.filter(approval=OuterRef("pk"), reviewer=user.pk)))
        .values_list("in_group", "needed", "voted", "status").first()
    )
    if row is None:
        return _Rules(in_group=False, needed=1, already_approved=False, pending=False)
    in_group, needed, voted, status = row
    return _Rules(bool(in_group), needed, bool(voted), status == ApprovalStatus.PENDING)


def checked(user: Any, approval: ApprovalRequest) -> int:
    """How many approvals `approval` needs, once sure `user` (a reviewer who may resolve it by
    governance.permissions) may vote on it now. Raises NotAllowed (not in its reviewer groups) or
    AlreadyApproved. A request no longer pending passes: the caller's claim then says who resolved it."""
    rules = _rules_for(user, approval)
    if not rules.pending:
        return 1
    if not rules.in_group:
        raise NotAllowed(f"only reviewers in the reviewer groups of {approval.tool} (or of its domain) may decide "
                         "its requests")
    if rules.already_approved:
        raise AlreadyApproved(f"You have already approved this request ({progress(approval, rules.needed)}); "
                              "another reviewer must decide it.")
    return rules.needed


def check_sole_decider(user: Any, approval: ApprovalRequest, *, what: str) -> None:
    """For what one reviewer settles alone (an edit, an approve grant): `user` must be in the request's
    reviewer groups, and its tool must need a single approval. Raises NotAllowed or AlreadyApproved."""
    needed = checked(user, approval)
    if needed > 1:
        raise NotAllowed(f"{approval.tool} needs {needed} approvals from different reviewers, so {what} is not "
                         "offered: approve it, and the others approve it too")


def approve(*, approval: ApprovalRequest, reviewer: Any, needed: int, comment: str, via: str = "") -> bool:
    """Count `reviewer`'s approval of a request needing `needed` (> 1) approvals; True when the caller's
    conditional UPDATE is to run now: this vote makes the quorum, or the request is no longer pending (the
    UPDATE then changes nothing and the caller says who resolved it).

    Call inside resolve_approval's transaction. Side effects: the request row stays locked until that
    transaction ends; one ApprovalVote row and its audit record. Raises AlreadyApproved.
    """
    # Locked so that votes are counted one at a time: of two reviewers casting the last vote at once, the
    # second waits here, then finds the request approved, and its conditional UPDATE changes no row.
    if ApprovalRequest.objects.select_for_update().filter(pk=approval.pk, status=ApprovalStatus.PENDING).values_list(
            "pk", flat=True).first() is None:
        return True
    before = _approved_by(approval)
    if reviewer.get_username() in before:  # a second click of the same reviewer, which waited on the lock
        raise AlreadyApproved(f"You have already approved this request ({Progress(needed, before)}); another "
                              "reviewer must decide it.")
    ApprovalVote.objects.create(approval=approval, reviewer=reviewer, comment=comment)
    now = Progress(needed, (*before, reviewer.get_username()))
    record_approval_vote(approval, reviewer=reviewer.get_username(), approved_by=list(now.approved_by),
                         needed=needed, comment=comment, via=via)
    return len(now.approved_by) >= needed


def progress(approval: ApprovalRequest, needed: int | None = None) -> Progress:
    """Who has approved `approval` so far against how many it needs (its tool's setting unless given)."""
    if needed is None:
        needed = ToolRegistration.objects.filter(name=approval.tool).values_list("approvals_needed", flat=True).first()
    return Progress(needed or 1, _approved_by(approval))


def counted(approval: ApprovalRequest) -> str:
    """What a reviewer is told when their approval was counted and the request waits for more."""
    return f"{approval.tool}: your approval is counted ({progress(approval)}); it waits for another reviewer."


def page_context(user: Any, approval: ApprovalRequest) -> dict[str, Any]:
    """What the request's page shows of who decides it: `can_resolve` (whether `user` may approve or deny it
    now), `quorum` (a Progress, None for a tool needing one approval) and `already_approved`. Two queries
    at most."""
    rules = _rules_for(user, approval)
    shown = progress(approval, rules.needed) if rules.needed > 1 else None
    return {
        "can_resolve": rules.pending and rules.in_group and not rules.already_approved
        and permissions.may_resolve(user, approval),
        "quorum": shown,
        "already_approved": rules.already_approved,
    }


def _approved_by(approval: ApprovalRequest) -> tuple[str, ...]:
    return tuple(ApprovalVote.objects.filter(approval=approval).values_list("reviewer__username", flat=True))
