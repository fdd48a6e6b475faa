"""Keeping the insights rollups (insights/models.py) current from the sealed audit history.

`catch_up` folds the audit records sealed since the watermark into `DayCount` and `Resolution`, a
batch at a time, and moves the watermark, all in one transaction per batch: a crash leaves the
rollups and the watermark agreeing. The page calls it before reading, for at most `ON_READ` records (the few
of the last seconds cost a few ms), beat every 10 s (insights/tasks.py), and `python manage.py
catch_up_insights` does the first fold of a long history.
One process folds at a time: the watermark row is locked, and a page that finds it locked does not
wait, it shows the figures as they stand.

Which records count (each measure as near as an audit filter can list it again, see insights/links.py):
- decisions: one per call the policies decided (`_policy_decision`), by that decision: allowed, blocked or
  requires_approval. The record of what followed a review or a sticky grant (the call run, denied, expired:
  it names its `approval_id` or a `grant_id`, audit/recorders.py) is not a second decision; a tool that
  failed after being let through counts under the decision that let it through (its record's verdict);
- resolutions: kind `approval` with status approved, denied or expired (not votes, not grants);
- resolutions: kind `approval` with status approved, denied or expired (not votes, not grants);
- escalations: kind `approval` with status `escalated`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC

from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q, Subquery

from approvals.models import ApprovalRequest
from audit.models import AuditChainHead, AuditDecision, AuditKind, AuditRecord

from .models import HOURS, DayCount, Measure, Resolution, Watermark

BATCH = 10_000
# What a page folds itself at most: 1,000 records cost ~20 ms at 1M records on PostgreSQL (docs/benchmarks.md),
# beat folds the rest every 10 s (insights/tasks.py), so a page stays within its 200 ms.
ON_READ = 1_000
RESOLVED = ("approved", "denied", "expired")
POLICY_OUTCOMES = (AuditDecision.ALLOWED, AuditDecision.BLOCKED, AuditDecision.REQUIRES_APPROVAL)
_COLUMNS = ("seq", "id", "occurred_at", "kind", "decision", "status", "tool", "actor", "domain", "reviewer",
            "approval_id", "grant")
# Whether a record's details may name a sticky grant (a cheap LIKE; `_details` confirms it's the top-level key).
_MAY_NAME_GRANT = ExpressionWrapper(Q(details__contains='"grant_id":'), output_field=BooleanField())


def catch_up(*, most: int | None = ON_READ, wait: bool = False) -> int:
    """Fold up to `most` (None: all) newly sealed audit records into the rollups; returns how many were read.

    With `wait` False, returns 0 at once when another process is folding."""
    done = 0
    while most is None or done < most:
        size = BATCH if most is None else min(BATCH, most - done)
        read = _fold_one_batch(size, wait=wait)
        if read is None or read == 0:
            break
        done += read
    return done


def behind() -> int:
    """How many sealed audit records the rollups do not include yet."""
    mark = Subquery(Watermark.objects.filter(pk=1).values("seq")[:1])
    row = AuditChainHead.objects.filter(pk=1).annotate(mark=mark).values_list("seq", "mark").first()
    return max(0, row[0] - (row[1] or 0)) if row else 0


def watermark() -> int:
    return Watermark.objects.filter(pk=1).values_list("seq", flat=True).first() or 0


def _fold_one_batch(size: int, *, wait: bool) -> int | None:
    """One batch in one transaction; None when another process holds the watermark."""
    with transaction.atomic():
        mark = _locked_watermark(wait)
        if mark is None:
            if Watermark.objects.filter(pk=1).exists():
                return None  # locked: another process is folding
            Watermark.objects.get_or_create(pk=1)  # the first fold ever (its migration makes it too)
            mark = _locked_watermark(wait)
            if mark is None:
                return None
        rows = list(AuditRecord.objects.filter(seq__gt=mark.seq, seq__lte=mark.seq + size)
                    .annotate(grant=_MAY_NAME_GRANT).order_by().values_list(*_COLUMNS))
        if not rows:
            return 0
        _fold(rows)
        mark.seq = max(row[0] for row in rows)
        mark.save(update_fields=["seq"])
    return len(rows)


def _locked_watermark(wait: bool) -> Watermark | None:
    return Watermark.objects.select_for_update(skip_locked=not wait).filter(pk=1).first()


def _fold(rows: list[tuple]) -> None:
    counts: dict[tuple, list[int]] = defaultdict(lambda: [0] * 25)  # [count, h00..h23]
    resolutions = []
    details = _details([row[1] for row in rows if row[3] in (AuditKind.DECISION, AuditKind.EXECUTION)
                        and (row[-1] or row[4] == AuditDecision.ERROR)])
    for _seq, id_, at, kind, decision, status, tool, actor, domain, reviewer, approval_id, _grant in rows:
        at = at.astimezone(UTC)
        if kind in (AuditKind.DECISION, AuditKind.EXECUTION):
            decided = _policy_decision(decision, approval_id, details.get(id_, {}))
            if decided:
                cell = counts[(at.date(), tool, actor, domain, Measure.DECISION.value, decided)]
                cell[0] += 1
                cell[1 + at.hour] += 1
        elif kind == AuditKind.APPROVAL and status in RESOLVED:
            counts[(at.date(), tool, actor, domain, Measure.RESOLUTION.value, status)][0] += 1
            resolutions.append(Resolution(audit_id=id_, approval_id=approval_id, occurred_at=at, day=at.date(),
                                          tool=tool, actor=actor, domain=domain, reviewer=reviewer, outcome=status))
        elif kind == AuditKind.APPROVAL and status == "escalated":
            counts[(at.date(), tool, actor, domain, Measure.ESCALATION.value, "")][0] += 1
    if counts:
        _add_counts(counts)
    if resolutions:
        _complete(resolutions)
        Resolution.objects.bulk_create(resolutions, ignore_conflicts=True)


def _details(ids: list[int]) -> dict[int, dict]:
    """The parsed details of the records `ids` (the few a decision's count needs them for)."""
    if not ids:
        return {}
    found = AuditRecord.objects.filter(id__in=ids).values_list("id", "details")
    return {id_: json.loads(text or "{}") for id_, text in found}


def _policy_decision(decision: str, approval_id: int | None, details: dict) -> str:
    """The policies' decision a `decision` or `execution` record stands for, or "" when it is not one.

    A call that requires approval counts once, by its `requires_approval` record (which already names its
    request or grant); what follows the review or the grant is its outcome, not another decision."""
    if decision == AuditDecision.REQUIRES_APPROVAL:
        return decision
    if approval_id or details.get("grant_id"):
        return ""
    if decision == AuditDecision.ERROR:  # the tool failed (or its arguments were refused): by its verdict
        verdict = details.get("decision")
        outcome = verdict.get("outcome") if isinstance(verdict, dict) else ""
        return outcome if outcome in POLICY_OUTCOMES else decision
    return decision if decision in POLICY_OUTCOMES else ""  # denied, expired: what followed a review


def _add_counts(counts: dict[tuple, list[int]]) -> None:
    """Add to the existing rows (read under the watermark's lock, so no other process adds meanwhile)."""
    existing = DayCount.objects.filter(day__in={key[0] for key in counts})
    for row in existing.values_list("day", "tool", "actor", "domain", "measure", "outcome", "count", *HOURS):
        cell = counts.get(tuple(row[:6]))
        if cell is not None:
            for i, value in enumerate(row[6:]):
                cell[i] += value
    objs = [DayCount(day=day, tool=tool, actor=actor, domain=domain, measure=measure, outcome=outcome,
                     count=cell[0], **dict(zip(HOURS, cell[1:], strict=True)))
            for (day, tool, actor, domain, measure, outcome), cell in counts.items()]
    DayCount.objects.bulk_create(objs, batch_size=500, update_conflicts=True, update_fields=["count", *HOURS],
                                 unique_fields=["day", "tool", "actor", "domain", "measure", "outcome"])


def _complete(resolutions: list[Resolution]) -> None:
    """The time each request waited (from its ApprovalRequest) and a denial's comment (from its record)."""
    requested = dict(ApprovalRequest.objects.filter(pk__in={r.approval_id for r in resolutions if r.approval_id})
                     .values_list("pk", "requested_at"))
    for resolution in resolutions:
        started = requested.get(resolution.approval_id)
        if started is not None:
            resolution.seconds = max(0.0, (resolution.occurred_at - started).total_seconds())
    denied = [r for r in resolutions if r.outcome == "denied"]
    if denied:
        details = dict(AuditRecord.objects.filter(id__in=[r.audit_id for r in denied]).values_list("id", "details"))
        for resolution in denied:
            comment = json.loads(details.get(resolution.audit_id) or "{}").get("comment") or ""
            resolution.reason = " ".join(str(comment).split())[:200]
