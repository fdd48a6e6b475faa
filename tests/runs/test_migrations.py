"""The data migration that moves facts out of the event log into columns (runs 0003)."""

from __future__ import annotations

import pytest

BEFORE = [("runs", "0002_run_heartbeat")]
AFTER = [("runs", "0003_run_retry_of_and_recoveries_as_columns")]


@pytest.mark.django_db(transaction=True)
def test_recoveries_and_retry_of_are_read_from_the_events(migrate):
    apps = migrate(BEFORE)
    Run, RunEvent = apps.get_model("runs", "Run"), apps.get_model("runs", "RunEvent")
    user = apps.get_model("auth", "User").objects.create(username="olivia")
    failed, retry, other = (Run.objects.create(started_by_id=user.pk, prompt="p", model="m") for _ in range(3))
    requeued = {"status": "queued", "detail": "queued again: its worker stopped responding"}
    RunEvent.objects.create(run=failed, seq=1, type="status", payload={"status": "queued", "detail": "queued by o"})
    RunEvent.objects.create(run=failed, seq=2, type="status", payload=requeued)
    RunEvent.objects.create(run=failed, seq=3, type="status", payload=requeued)
    RunEvent.objects.create(run=retry, seq=1, type="status",
                            payload={"status": "queued", "detail": "retry of run x by o", "retry_of": str(failed.pk)})

    apps = migrate(AFTER)
    Run = apps.get_model("runs", "Run")

    assert Run.objects.get(pk=failed.pk).recoveries == 2
    assert Run.objects.get(pk=retry.pk).retry_of_id == failed.pk
    assert (Run.objects.get(pk=other.pk).recoveries, Run.objects.get(pk=other.pk).retry_of_id) == (0, None)
