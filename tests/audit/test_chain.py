"""The hash chain: records are append-only, and verify_audit names what raw SQL changed."""

from __future__ import annotations

import itertools

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit.chain import GENESIS, verify_chain
from audit.models import AppendOnlyError, AuditChainHead, AuditRecord
from audit.recorders import record_run_event

pytestmark = pytest.mark.django_db


def _ten_records():
    run_id = "0" * 31 + "1"
    for i in range(1, 11):
        record_run_event(run_id, "status", {"status": "running", "detail": f"step {i}"}, run_owner="olivia")


def _sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _verify_message() -> str:
    with pytest.raises(CommandError) as caught:
        call_command("verify_audit")
    return str(caught.value)


def test_records_chain_from_genesis_without_gaps():
    _ten_records()
    records = list(AuditRecord.objects.order_by("seq"))
    assert [r.seq for r in records] == list(range(1, 11))
    assert records[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))
    head = AuditChainHead.objects.get()
    assert (head.seq, head.hash) == (10, records[-1].hash)
    assert verify_chain().intact


def test_verify_audit_reports_an_intact_chain(capsys):
    _ten_records()
    call_command("verify_audit")
    assert "audit chain intact: 10 records" in capsys.readouterr().out


def test_orm_refuses_to_update_or_delete_records():
    _ten_records()
    record = AuditRecord.objects.get(seq=3)
    record.reason = "nothing happened"
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.filter(seq=3).update(reason="nothing happened")
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.all().delete()
    assert AuditRecord.objects.get(seq=3).reason == "step 3"


def test_altered_row_is_named():
    _ten_records()
    _sql("UPDATE audit_auditrecord SET reason = 'step four (edited)' WHERE seq = 4")
    assert "record #4 was altered" in _verify_message()


def test_altered_row_with_recomputed_hash_is_caught_at_the_next_record():
    _ten_records()
    fifth = AuditRecord.objects.get(seq=5)
    _sql("UPDATE audit_auditrecord SET reason = 'edited', hash = %s WHERE seq = 4", [fifth.prev_hash[::-1]])
    message = _verify_message()
    assert "record #4 was altered" in message or "record #5 does not follow record #4" in message


def test_deleted_row_is_named():
    _ten_records()
    _sql("DELETE FROM audit_auditrecord WHERE seq = 6")
    assert "record #6 is missing" in _verify_message()


def test_deleted_last_rows_are_named_from_the_chain_head():
    _ten_records()
    _sql("DELETE FROM audit_auditrecord WHERE seq >= 9")
    assert "records #9 to #10 are missing" in _verify_message()


def test_reordered_rows_are_named():
    _ten_records()
    _sql("UPDATE audit_auditrecord SET seq = -3 WHERE seq = 3")
    _sql("UPDATE audit_auditrecord SET seq = 3 WHERE seq = 7")
    _sql("UPDATE audit_auditrecord SET seq = 7 WHERE seq = -3")
    assert "record #3 does not follow record #2" in _verify_message()


def test_inserted_row_is_named():
    _ten_records()
    # Make room at #5 (through negative numbers: the unique check is per row on some databases).
    _sql("UPDATE audit_auditrecord SET seq = -(seq + 1) WHERE seq >= 5")
    _sql("UPDATE audit_auditrecord SET seq = -seq WHERE seq < 0")
    _sql(
        "INSERT INTO audit_auditrecord (seq, occurred_at, kind, decision, status, tool, actor, domain, reviewer, "
        "run_id, approval_id, call_id, policy_ids, reason, details, search_text, prev_hash, hash) "
        "SELECT 5, occurred_at, kind, decision, status, tool, actor, domain, reviewer, run_id, approval_id, call_id, "
        "policy_ids, 'a forged step', details, search_text, hash, hash FROM audit_auditrecord WHERE seq = 4"
    )
    assert "record #5 was altered" in _verify_message()
