"""Batch decisions from the queue: one approve or deny, with one comment, for many requests.

Each request is resolved on its own through `services.resolve_approval` (its own transaction, its own
conditional UPDATE, audit record and signal), so one that fails (already resolved by someone else, a
run the reviewer started, no permission, a request they may not see) leaves the others resolved, and
two reviewers batching overlapping selections at once resolve each request exactly once. What happens
to an approved call afterwards (the policy re-checked before it runs) is the run's, shown on its page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from django.db.models import Count, Max

from . import services
from .models import ApprovalRequest


@dataclass(frozen=True)
class Outcome:
    """What became of one request of the batch; `message` is meant for the reviewer."""

    approval_id: int
    tool: str
    ok: bool
    message: str


def resolve_many(*, approval_ids: Iterable[int], reviewer, resolution: Literal["approved", "denied"],
                 comment: str = "", deny_reason_id: int | None = None) -> list[Outcome]:
    """Approve or deny each of `approval_ids`, one at a time, in the order given; one Outcome each.

    Side effects: those of `services.resolve_approval` for each request that succeeds (its row, its audit
    record, `approval_resolved`, so its run resumes after the commit). A request the reviewer may not
    see is reported as unknown, exactly like one that does not exist.
    """
    ids = list(dict.fromkeys(approval_ids))
    rows = ApprovalRequest.objects.visible_to(reviewer).select_related("run").in_bulk(ids)
    outcomes = []
    for approval_id in ids:
        approval = rows.get(approval_id)
        if approval is None:
            outcomes.append(Outcome(approval_id, "", False, "there is no such request, or you may not see it"))
            continue
        try:
            services.resolve_approval(approval=approval, reviewer=reviewer, resolution=resolution,
                                      comment=comment, deny_reason_id=deny_reason_id)
        except services.ApprovalError as exc:
            outcomes.append(Outcome(approval_id, approval.tool, False, str(exc)))
        else:
            outcomes.append(Outcome(approval_id, approval.tool, True, resolution))
    return outcomes


def summary(resolution: str, outcomes: list[Outcome]) -> dict:
    """The batch's outcomes as plain data (the queue shows them after a redirect, from the session):
    those that succeeded first, each group in the order resolved."""
    ordered = sorted(outcomes, key=lambda o: not o.ok)
    return {"resolution": resolution, "outcomes": [vars(o) for o in ordered]}


def listing(approvals) -> dict:
    """What the queue shows of `approvals` (the reviewer's queue as filtered): its first rows (`listed`),
    how many match, and the newest id among them, which bounds "all matching" (`matching_ids`). Two
    queries, whatever the number of rows."""
    totals = approvals.aggregate(matching_count=Count("pk"), newest_id=Max("pk"))
    return {"approvals": approvals.listed(), **totals}


def matching_ids(approvals, *, upto: int) -> list[int]:
    """The ids of the pending requests in `approvals` (the queue as filtered), oldest first, up to the
    newest the reviewer's page showed (`upto`): "all matching the filters" means every one of them, not
    only the rows the page lists, but never a request that arrived after the page last showed the count."""
    return list(approvals.pending().filter(pk__lte=upto).order_by("requested_at", "pk").values_list("pk", flat=True))
