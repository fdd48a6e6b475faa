"""The hash chain: records are append-only, sealed after commit, and verify_audit names what raw SQL changed."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction
from django.utils import timezone

from audit import chain
from audit.chain import GENESIS, seal, verify_chain
from audit.models import AppendOnlyError, AuditChainHead, AuditRecord
from audit.recorders import record_run_event
from audit.sealer import seal_continuously
from tests.support.databases import skip_unless_concurrent_writers

pytestmark = pytest.mark.django_db


def _ten_records(*, sealed: bool = True):
    run_id = "0" * 31 + "1"
    for i in range(1, 11):
        record_run_event(run_id, "status", {"status": "running", "detail": f"step {i}"}, run_owner="olivia")
    if sealed:
        assert seal() == 10


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
    assert "audit chain intact: 10 records in" in capsys.readouterr().out


def test_records_are_unsealed_until_the_sealer_runs(capsys):
    _ten_records(sealed=False)
    assert list(AuditRecord.objects.values_list("seq", "prev_hash", "hash").order_by().distinct()) == [(None, "", "")]
    report = verify_chain()
    assert (report.intact, report.checked, report.unsealed) == (True, 0, 10)
    assert timezone.now() - report.oldest_unsealed_at < timedelta(minutes=1)
    call_command("verify_audit")
    assert "10 newer records not sealed yet" in capsys.readouterr().out


def test_sealing_continues_the_chain_in_batches_and_again_seals_nothing():
    _ten_records()
    record_run_event("0" * 32, "status", {"status": "completed"}, run_owner="olivia")
    _ten_records(sealed=False)
    assert seal(batch_size=3) == 11
    assert seal() == 0
    records = list(AuditRecord.objects.order_by("seq"))
    assert [r.seq for r in records] == list(range(1, 22))
    assert [r.id for r in records] == sorted(r.id for r in records)  # one writer: seq follows insertion
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))
    assert AuditChainHead.objects.get().seq == 21
    report = verify_chain()
    assert (report.intact, report.checked, report.unsealed) == (True, 21, 0)


def test_seal_audit_command_seals_now(capsys):
    _ten_records(sealed=False)
    call_command("seal_audit")
    assert capsys.readouterr().out == "sealed 10 audit records\n"
    assert verify_chain().checked == 10


@pytest.mark.django_db(transaction=True)
def test_the_sealer_process_seals_what_writers_commit_while_it_runs():
    stop, sealed = threading.Event(), []

    def sealer() -> None:
        try:
            sealed.append(seal_continuously(0.05, stop))
        finally:
            connection.close()

    thread = threading.Thread(target=sealer)
    thread.start()
    try:
        _ten_records(sealed=False)
        deadline = time.monotonic() + 10
        while AuditRecord.objects.filter(seq__isnull=True).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        report = verify_chain()
        assert (report.intact, report.checked) == (True, 10)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive() and sealed == [10]


def test_unsealing_a_sealed_record_is_named():
    _ten_records()
    _sql("UPDATE audit_auditrecord SET seq = NULL, prev_hash = '', hash = '' WHERE seq = 4")
    assert "record #4 is missing" in _verify_message()


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


def test_forged_unsealed_row_is_sealed_after_the_chain_and_cannot_take_a_place_in_it():
    _ten_records()
    # A record inserted unsealed with an old time ends up sealed as #11, not among the old ones.
    _sql("INSERT INTO audit_auditrecord (occurred_at, kind, decision, status, tool, actor, domain, reviewer, "
         "run_id, approval_id, call_id, policy_ids, reason, details, search_text, prev_hash, hash) "
         "SELECT occurred_at, kind, decision, status, tool, actor, domain, reviewer, run_id, approval_id, call_id, "
         "policy_ids, 'a forged step', details, search_text, '', '' FROM audit_auditrecord WHERE seq = 2")
    assert seal() == 1
    assert AuditRecord.objects.get(reason="a forged step").seq == 11
    assert verify_chain().intact


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


def _postgres_only() -> None:
    skip_unless_concurrent_writers()


@pytest.mark.django_db(transaction=True)
def test_records_are_sealed_in_commit_order_not_insertion_order():
    _postgres_only()
    inserted, sealed_once = threading.Event(), threading.Event()

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                record_run_event("0" * 32, "status", {"status": "running", "detail": "slow"}, run_owner="olivia")
                inserted.set()
                assert sealed_once.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert inserted.wait(10)
    record_run_event("0" * 32, "status", {"status": "running", "detail": "fast"}, run_owner="olivia")
    assert seal() == 1  # the slow writer's record is not committed: not visible, not sealed
    sealed_once.set()
    thread.join(10)
    assert seal() == 1
    by_seq = list(AuditRecord.objects.order_by("seq").values_list("seq", "id", "reason"))
    assert [(seq, reason) for seq, _id, reason in by_seq] == [(1, "fast"), (2, "slow")]
    assert by_seq[0][1] > by_seq[1][1]  # the later commit had the lower id
    assert verify_chain().intact


@pytest.mark.django_db(transaction=True)
def test_a_second_sealer_returns_at_once_while_one_is_at_work():
    _postgres_only()
    _ten_records(sealed=False)
    holding, release = threading.Event(), threading.Event()

    def other_sealer() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [chain._SEAL_LOCK_KEY])
                holding.set()
                assert release.wait(10)
                cursor.execute("SELECT pg_advisory_unlock(%s)", [chain._SEAL_LOCK_KEY])
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_sealer)
    thread.start()
    assert holding.wait(10)
    assert seal() == 0
    release.set()
    thread.join(10)
    assert seal() == 10
    assert verify_chain().intact
