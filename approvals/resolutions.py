"""What resolved approval requests mean to the run that waits for them: the one question the worker asks.

The worker names the calls its runner waits for; `resolutions_to_apply` answers which of them were
resolved (by a reviewer, or by expiry), oldest first, each in the runner's words with what the
runner is told: "approved" with who approved, "rejected" with the reviewer's comment, "expired".
A request approves the exact call it was raised for (the digest of its tool and arguments): a
waiting call that differs is told "rejected" and never runs. An approval with edited arguments
(approvals/edits.py) approves the call it was raised for, run with the arguments the reviewer
approved (their digest is the request's), and names what changed for the model. `runs` does not
translate statuses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from governance.guard import PendingApproval

from . import edits
from .models import ApprovalRequest, ApprovalStatus
from .services import arguments_digest

DIGEST_MISMATCH = "the call differs from what the reviewer approved, so it was not run"


@dataclass(frozen=True)
class Resolution:
    """One resolved request, as the runner is to be told it."""

    approval_id: int
    call_id: str
    tool: str
    resolution: Literal["approved", "rejected", "expired"]  # the runner's words (governance.guard.loop)
    comment: str  # what the runner is told (and, with a denial, the model)
    outcome: str  # who or what resolved it, for the run's timeline: "denied by rita"
    reviewer: str = ""  # the username of whoever resolved it (empty for expiry and a failed run)
    arguments: dict[str, Any] | None = None  # approved with a reviewer's edit: the arguments to run with
    note: str = ""  # and what the model is told changed


def resolutions_to_apply(*, run_id, waiting: Iterable[PendingApproval]) -> list[Resolution]:
    """The resolved requests of the calls `waiting` lists, oldest resolution first. One query."""
    calls = {p.call_id: p for p in waiting}
    if not calls:
        return []
    resolved = (
        ApprovalRequest.objects.resolved().filter(run_id=run_id, call_id__in=calls)
        .select_related("resolved_by").order_by("resolved_at", "pk")
    )
    return [_as_told(approval, calls[approval.call_id]) for approval in resolved]


def any_to_apply(*, run_id, call_ids: Iterable[str]) -> bool:
    """Whether any of these waiting calls has been resolved (a resume is then due)."""
    return ApprovalRequest.objects.resolved().filter(run_id=run_id, call_id__in=list(call_ids)).exists()


def _as_told(approval: ApprovalRequest, call: PendingApproval) -> Resolution:
    def told(resolution: Literal["approved", "rejected", "expired"], comment: str, **edit: Any) -> Resolution:
        return Resolution(approval_id=approval.pk, call_id=approval.call_id, tool=approval.tool,
                          resolution=resolution, comment=comment, outcome=approval.outcome,
                          reviewer=approval.resolved_by.get_username() if approval.resolved_by_id else "", **edit)

    if approval.status == ApprovalStatus.APPROVED:
        approved = approval.outcome + (f": {approval.comment}" if approval.comment else "")
        if approval.was_edited:
            arguments = edits.edited_call_arguments(approval, call.tool, call.arguments)
            if arguments is None:
                return told("rejected", DIGEST_MISMATCH)
            return told("approved", approved, arguments=arguments, note=edits.note_for_model(approval))
        if arguments_digest(call.tool, call.arguments) != approval.arguments_digest:
            return told("rejected", DIGEST_MISMATCH)
        return told("approved", approved)
    if approval.status == ApprovalStatus.EXPIRED:
        return told("expired", approval.comment)
    return told("rejected", approval.comment)
