"""One query interface over the audit history: filters, full-text search, keyset pages.

Text search uses the database's own engine: FTS5 on SQLite, to_tsvector/plainto_tsquery with the
GIN index on PostgreSQL (migration 0002). Results come newest first by `id` (insertion order; the
chain's `seq` is given later, in commit order, and is empty until then), and pages continue below an id
(keyset pagination: no COUNT over a million rows, and links stay valid while records are appended).

On SQLite the text search joins the FTS5 table and orders by its rowid, so FTS5 walks its own
index newest first and stops at the page size; ordering by the record's id instead made SQLite
collect and sort every match (60-80 ms for a common word at 200k records, against 0.1 ms).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Max, QuerySet
from django.db.models.expressions import RawSQL

from .models import AuditRecord

PAGE_SIZE = 50
EXACT_FILTERS = ("tool", "actor", "domain", "decision", "reviewer", "kind", "run_id")


def filtered(criteria: dict[str, Any], before: int | None = None) -> QuerySet:
    """AuditRecords matching the audit page's cleaned filters, newest first, below id `before`."""
    queryset = AuditRecord.objects.all()
    exact = {name: criteria[name] for name in EXACT_FILTERS if criteria.get(name) not in (None, "")}
    if exact:
        queryset = queryset.filter(**exact)
    queryset = _time_range(queryset, criteria.get("since"), criteria.get("until"))
    text = (criteria.get("q") or "").strip()
    if text and connection.vendor == "sqlite":
        return _sqlite_text_search(queryset, text, before)
    if before is not None:
        queryset = queryset.filter(id__lt=before)
    if text:
        queryset = _postgres_text_search(queryset, text)
    return queryset.order_by("-id")


def _time_range(queryset: QuerySet, since, until) -> QuerySet:
    """The time filter, plus the id bounds it implies.

    Records are appended in time order (stamped with the time of their insert, ids rising), so
    the first record at or after `since` bounds the ids from below, and the last one before
    `until` from above. With the bounds, "tool + a week two months ago" walks that week's ids only;
    without them both databases walked the tool's records from the newest back, testing each
    (0.4-1 s at 1M records). The time conditions stay too, so a record stamped out of order (a
    clock stepped back) can be missed by the bounds but never shown out of range. Records sharing the
    boundary's time are told apart by id (the lowest at `since`, the highest before `until`), or the
    bound could fall on any of them and leave the others out.
    """
    if since:
        queryset = queryset.filter(occurred_at__gte=since)
        first = AuditRecord.objects.filter(occurred_at__gte=since).order_by("occurred_at", "id").values("id")[:1]
        queryset = queryset.filter(id__gte=first)
    if until:
        queryset = queryset.filter(occurred_at__lt=until)
        last = AuditRecord.objects.filter(occurred_at__lt=until).order_by("-occurred_at", "-id").values("id")[:1]
        queryset = queryset.filter(id__lte=last)
    return queryset


def _postgres_text_search(queryset: QuerySet, text: str) -> QuerySet:
    if connection.vendor != "postgresql":
        raise NotImplementedError(f"audit text search has no implementation for {connection.vendor}")
    return queryset.filter(RawSQL(
        "search_vector @@ plainto_tsquery('simple', %s)", [text], output_field=BooleanField()
    ))


def _sqlite_text_search(queryset: QuerySet, text: str, before: int | None) -> QuerySet:
    where = ["audit_fts.rowid = audit_auditrecord.id", "audit_fts MATCH %s"]
    params: list[Any] = [fts5_query(text)]
    if before is not None:
        where.append("audit_fts.rowid < %s")
        params.append(before)
    return queryset.extra(tables=["audit_fts"], where=where, params=params, order_by=["-audit_fts.rowid"])


def fts5_query(text: str) -> str:
    """The user's words as FTS5 phrases joined by AND: no FTS5 syntax of theirs is interpreted."""
    return " ".join('"' + word.replace('"', '""') + '"' for word in text.split())


@dataclass(frozen=True)
class Page:
    records: list[AuditRecord]
    next_before: int | None  # pass as `before` for the next (older) page; None on the last page


def page(criteria: dict[str, Any], before: int | None = None, size: int | None = None) -> Page:
    """One page of `filtered(criteria)`, newest first."""
    size = size or PAGE_SIZE
    # Ids first, rows second: the ids often come from an index alone (tool + time range: 2 ms at
    # 1M records, against 50-200 ms when SQLite fetched and sorted every full row in the range).
    ids = page_ids(criteria, before, size + 1)
    more = len(ids) > size
    ids = ids[:size]
    by_id = AuditRecord.objects.in_bulk(ids)
    return Page([by_id[i] for i in ids if i in by_id], ids[-1] if more and ids else None)


RECENT_WINDOWS = (5_000, 50_000, 500_000)


def page_ids(criteria: dict[str, Any], before: int | None, limit: int) -> list[int]:
    """The ids of one page, newest first.

    PostgreSQL text search looks through growing windows of the newest ids. Asked for the newest
    matches of the whole history at once, the planner walks the primary key backwards testing
    every record whenever it over-estimates how common a word is (a rare order id at 1M records:
    6 s), and collecting every match of a common word to sort them costs as much. A window of recent
    ids, unordered, is answered from the GIN index and the id range together; a common word fills
    the page from the first window, a rare one costs a few index probes.
    """
    queryset = filtered(criteria, before)
    if not ((criteria.get("q") or "").strip() and connection.vendor == "postgresql"):
        return list(queryset.values_list("id", flat=True)[:limit])
    top = before if before is not None else (AuditRecord.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    for window in RECENT_WINDOWS:
        ids = list(queryset.filter(id__gte=top - window).order_by().values_list("id", flat=True))
        if len(ids) >= limit:
            return sorted(ids, reverse=True)[:limit]
    return sorted(queryset.order_by().values_list("id", flat=True), reverse=True)[:limit]


def run_trail(run_id) -> list[AuditRecord]:
    """A run's own audit records, oldest first (sealed or not yet), for its run page."""
    return list(AuditRecord.objects.filter(run_id=run_id).order_by("id"))
