"""Fixtures for run tests: a fresh emulator behind the OpenAI client the runs use, and a way to end a
run from another worker in the middle of a read."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from governance import assembly
from governance.emulator import ResponsesEmulator, make_openai_client


@pytest.fixture
def emulator(monkeypatch, settings) -> ResponsesEmulator:
    """A fresh emulator behind the process's OpenAI client, so queued faults never leak to other tests."""
    settings.GOVERNANCE_PROVIDER_MAX_RETRIES = 2
    emulator = ResponsesEmulator()
    client = make_openai_client(emulator)
    monkeypatch.setattr(assembly, "_openai_client", client)
    assert assembly.openai_client() is client
    return emulator


@pytest.fixture
def end_run_during_first_read(monkeypatch):
    """`arm(run, seq, **fields)`: right after the next SELECT on runs_run, another thread commits the
    run's end (its fields and a final `status` event at `seq`, in one transaction), as another worker
    would. Returns the arming function; nothing happens until it is called."""
    from runs.models import Run, RunEvent

    armed, original = [None], CursorWrapper.execute

    def finish(run, seq, fields) -> None:
        def work() -> None:
            with transaction.atomic():
                Run.objects.filter(pk=run.pk).update(**fields)
                RunEvent.objects.create(run=run, seq=seq, type="status",
                                        payload={"status": fields["status"], "detail": "x"})
            connection.close()

        worker = threading.Thread(target=work)
        worker.start()
        worker.join()

    def execute(self, sql, params=None):
        result = original(self, sql, params)
        if armed[0] and "runs_run" in sql and sql.lstrip().upper().startswith("SELECT"):
            pending, armed[0] = armed[0], None
            finish(*pending)
        return result

    monkeypatch.setattr(CursorWrapper, "execute", execute)

    def arm(run, seq: int, **fields) -> None:
        armed[0] = (run, seq, fields)

    return arm
