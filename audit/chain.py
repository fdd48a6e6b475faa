"""The hash chain: appending records under the chain head's lock, and verifying the whole chain.

A record's hash is SHA-256 over the previous record's hash and the record's hashed fields, encoded
as one compact JSON array of strings. The first record follows `GENESIS`. Appending locks the
single `AuditChainHead` row (SELECT ... FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE transactions
already hold the write lock), so seq numbers have no gaps and every record names its predecessor.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from .models import AuditChainHead, AuditRecord

GENESIS = "0" * 64
HASHED_FIELDS = (
    "seq", "occurred_at", "kind", "decision", "status", "tool", "actor", "domain", "reviewer", "run_id",
    "approval_id", "call_id", "policy_ids", "reason", "details", "search_text",
)


def field_text(value) -> str:
    """A field value as the chain hashes it and exports write it: ISO times, "" for NULL."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def record_hash(prev_hash: str, values: Iterable) -> str:
    """The hash of one record: its predecessor's hash and its hashed field values, in order."""
    encoded = json.dumps([prev_hash, *map(field_text, values)], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


def append(records: list[AuditRecord]) -> list[AuditRecord]:
    """Give each unsaved record its seq, time and hashes, and insert them in one locked step.

    Plain SQL, not the ORM: this runs for every status change and tool call, and the ORM's
    per-query overhead was most of its cost (about 1.3 ms of 1.5 ms per record).
    """
    if not records:
        return records
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_LOCK_HEAD[connection.vendor == "postgresql"])
        row = cursor.fetchone()
        if row is None:
            AuditChainHead.objects.get_or_create(pk=1, defaults={"seq": 0, "hash": GENESIS})
            cursor.execute(_LOCK_HEAD[connection.vendor == "postgresql"])
            row = cursor.fetchone()
        seq, prev = row
        now = timezone.now()
        values = []
        for record in records:
            seq += 1
            record.seq, record.prev_hash = seq, prev
            record.occurred_at = record.occurred_at or now
            record.hash = prev = record_hash(prev, (getattr(record, f) for f in HASHED_FIELDS))
            values.append([_db_value(record, field) for field in _INSERT_FIELDS])
        cursor.executemany(_INSERT, values)
        cursor.execute(f"UPDATE {_HEAD_TABLE} SET seq = %s, hash = %s WHERE id = 1", [seq, prev])
        cursor.execute(f"SELECT seq, id FROM {_TABLE} WHERE seq >= %s AND seq <= %s", [records[0].seq, seq])
        ids = dict(cursor.fetchall())
    for record in records:
        record.id = ids[record.seq]
        record._state.adding = False
    return records


_TABLE = AuditRecord._meta.db_table
_HEAD_TABLE = AuditChainHead._meta.db_table
_LOCK_HEAD = {
    False: f"SELECT seq, hash FROM {_HEAD_TABLE} WHERE id = 1",  # SQLite: the IMMEDIATE transaction holds the lock
    True: f"SELECT seq, hash FROM {_HEAD_TABLE} WHERE id = 1 FOR UPDATE",
}
_INSERT_FIELDS = (*HASHED_FIELDS, "prev_hash", "hash")
_INSERT = f"INSERT INTO {_TABLE} ({', '.join(_INSERT_FIELDS)}) VALUES ({', '.join(['%s'] * len(_INSERT_FIELDS))})"


_CONVERTED = {"occurred_at", "run_id"}  # every other field is stored as the str or int it holds


def _db_value(record: AuditRecord, name: str):
    value = getattr(record, name)
    if name in _CONVERTED:
        return AuditRecord._meta.get_field(name).get_db_prep_save(value, connection)
    return value


@dataclass(frozen=True)
class ChainReport:
    """What `verify_chain` found: how many records it checked and the first problem, if any."""

    checked: int
    problem: str = ""
    seq: int | None = None

    @property
    def intact(self) -> bool:
        return not self.problem


def verify_chain(chunk_size: int = 5000, progress=None) -> ChainReport:
    """Walk the chain in seq order; name the first record altered, removed, inserted or reordered."""
    expected_seq, expected_prev, checked = 1, GENESIS, 0
    for row in _rows(chunk_size):
        seq, prev_hash, stored_hash = row[0], row[-2], row[-1]
        if seq != expected_seq:
            missing = f"#{expected_seq}" if seq == expected_seq + 1 else f"#{expected_seq} to #{seq - 1}"
            return ChainReport(checked, f"record {missing} is missing: removed from the chain before #{seq}",
                               expected_seq)
        if prev_hash != expected_prev:
            return ChainReport(checked, f"record #{seq} does not follow record #{seq - 1}: its previous-record "
                               "hash differs, so a record was inserted, replaced or reordered here", seq)
        if record_hash(prev_hash, row[:-2]) != stored_hash:
            return ChainReport(checked, f"record #{seq} was altered: its content no longer matches its hash", seq)
        expected_seq, expected_prev, checked = seq + 1, stored_hash, checked + 1
        if progress is not None and checked % 100_000 == 0:
            progress(checked)
    head = AuditChainHead.objects.filter(pk=1).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if (head_seq, head_hash) != (expected_seq - 1, expected_prev):
        if head_seq > expected_seq - 1:
            return ChainReport(checked, f"records #{expected_seq} to #{head_seq} are missing: removed from the "
                               "end of the chain", expected_seq)
        return ChainReport(checked, f"record #{expected_seq - 1} is not the one the chain head recorded: the end "
                           "of the chain was inserted or replaced", expected_seq - 1)
    return ChainReport(checked)


def _rows(chunk_size: int) -> Iterator[tuple]:
    return (
        AuditRecord.objects.order_by("seq")
        .values_list(*HASHED_FIELDS, "prev_hash", "hash")
        .iterator(chunk_size=chunk_size)
    )
