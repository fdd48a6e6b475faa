"""The heartbeat thread: it renews the run's heartbeat for its own claim only, and stops with the worker."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from runs.heartbeat import Heartbeat
from runs.models import Run, RunStatus
from tests.factories import make_user


@pytest.mark.django_db(transaction=True)
def test_heartbeat_renews_only_its_own_claim():
    run = Run.objects.create(started_by=make_user("o4"), prompt="p", model="gpt-4.1", status=RunStatus.RUNNING)
    claim = uuid.uuid4()
    Run.objects.filter(pk=run.pk).update(claim_id=claim, heartbeat_at=timezone.now() - timedelta(minutes=5))

    with Heartbeat(run.pk, claim, interval=0.05):
        time.sleep(0.3)
    assert timezone.now() - Run.objects.get(pk=run.pk).heartbeat_at < timedelta(seconds=2)

    # Taken over (claim voided): the old worker's heartbeat must not make the run look alive.
    Run.objects.filter(pk=run.pk).update(claim_id=None, heartbeat_at=timezone.now() - timedelta(minutes=5))
    with Heartbeat(run.pk, claim, interval=0.05):
        time.sleep(0.3)
    assert timezone.now() - Run.objects.get(pk=run.pk).heartbeat_at > timedelta(minutes=4)


@pytest.mark.django_db(transaction=True)
def test_heartbeat_stops_when_the_worker_stops():
    run = Run.objects.create(started_by=make_user("o5"), prompt="p", model="gpt-4.1", status=RunStatus.RUNNING)
    claim = uuid.uuid4()
    Run.objects.filter(pk=run.pk).update(claim_id=claim)
    heartbeat = Heartbeat(run.pk, claim, interval=0.05)
    with heartbeat:
        time.sleep(0.1)
    assert not heartbeat._thread.is_alive()
    last = Run.objects.get(pk=run.pk).heartbeat_at
    time.sleep(0.2)
    assert Run.objects.get(pk=run.pk).heartbeat_at == last
