"""Streaming exports of an audit result set as CSV and as JSON Lines.

Both walk the queryset with `.iterator()` (a server-side cursor on PostgreSQL), so a million rows
never sit in memory; each yields one line at a time for a `StreamingHttpResponse`. A record not
sealed yet exports with an empty `seq`, `prev_hash` and `hash` (JSON: null and "").
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from django.db.models import QuerySet

from .chain import field_text

COLUMNS = ("seq", "occurred_at", "kind", "decision", "status", "tool", "actor", "domain", "reviewer", "run_id",
           "approval_id", "call_id", "policy_ids", "reason", "details", "prev_hash", "hash")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _rows(queryset: QuerySet) -> Iterator[tuple]:
    return queryset.values_list(*COLUMNS).iterator(chunk_size=2000)


def csv_cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula (a leading ' is added where needed); the insights
    CSV (insights/figures.py) writes its cells through it too."""
    text = field_text(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_lines(queryset: QuerySet) -> Iterator[str]:
    """The records of `queryset`, in its order, as CSV lines after a header."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values) -> str:
        writer.writerow(values)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(COLUMNS)
    for row in _rows(queryset):
        yield line([csv_cell(v) for v in row])


def jsonl_lines(queryset: QuerySet) -> Iterator[str]:
    """One JSON object per record; `details` is embedded as the JSON it is stored as."""
    details_at = COLUMNS.index("details")
    for row in _rows(queryset):
        fields = {name: value if value is None or isinstance(value, int) else field_text(value)
                  for name, value in zip(COLUMNS, row, strict=True) if name != "details"}
        head = json.dumps(fields, ensure_ascii=False)
        yield f'{head[:-1]}, "details": {row[details_at]}}}\n'
