"""Replay jobs (governance/replay_jobs.py): started for a draft, run by the Celery task (eager in the tests),
their progress saved, cancelled before or while they run, and a failure kept on the job."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from governance import replay_jobs, versions
from governance.models import DecisionInput, Policy, ReplayJob
from governance.tasks import run_replay
from tests.factories import make_user, register_demo_tools

pytestmark = pytest.mark.django_db

LOOKUPS_FORBIDDEN = 'forbid(principal, action == Action::"lookup_order", resource);'


@pytest.fixture
def recorded(db):
    """The demo set, and three recorded decisions: two lookups (allowed) and a delete (blocked)."""
    register_demo_tools()
    runs = [uuid.uuid4() for _ in range(3)]
    for i, (tool, outcome) in enumerate([("lookup_order", "allowed"), ("lookup_order", "allowed"),
                                         ("delete_customer", "blocked")]):
        DecisionInput.objects.create(tool=tool, actor="dashboard", domain="customer_transactions",
                                     arguments={"order_id": f"ord_{i}"}, outcome=outcome, run_id=runs[i],
                                     call_id=f"call_{i}", source="dashboard")
    return runs


def stricter_draft() -> dict:
    policy = Policy.objects.get(name="demo")
    policy.cedar = LOOKUPS_FORBIDDEN
    return versions.draft(saving=policy)


def test_start_runs_the_task_after_commit_and_saves_result_and_progress(recorded, django_capture_on_commit_callbacks):
    user = make_user("pat")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = replay_jobs.start(draft=stricter_draft(), label="policy demo (unsaved change)", days=30, by=user)
        assert ReplayJob.objects.get(pk=job.pk).status == "queued"  # nothing ran before the commit
    assert len(callbacks) == 1
    job.refresh_from_db()
    result = replay_jobs.result_of(job)
    assert (job.status, job.done, job.total, job.created_by_name) == ("done", 3, 3, "pat")
    assert (result.total, result.changed, result.transitions) == (3, 2, [("allowed", "blocked", 2)])
    assert sorted(e["run_id"] for e in result.examples) == sorted(str(r) for r in recorded[:2])


def test_a_replay_of_the_active_set_changes_nothing(recorded, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = replay_jobs.start(draft=versions.snapshot(), label="the active set", by=None)
    job.refresh_from_db()
    assert (job.status, job.result["total"], job.result["changed"], job.created_by_name) == ("done", 3, 0, "system")


def test_start_refuses_days_outside_one_to_365(recorded):
    for days in (0, 366):
        with pytest.raises(ValueError, match="between 1 and 365"):
            replay_jobs.start(draft=versions.snapshot(), label="x", days=days, by=None)
    assert ReplayJob.objects.count() == 0


def test_progress_saves_done_and_total_and_answers_false_once_cancel_is_asked(recorded):
    job = replay_jobs.start(draft=versions.snapshot(), label="x", by=None)
    progress = replay_jobs.progress_callback(job.pk, interval=0)
    assert progress(1, 3) is True
    job.refresh_from_db()
    assert (job.done, job.total) == (1, 3)
    assert timezone.now() - job.heartbeat_at < replay_jobs.STALE_AFTER  # alive: never taken for dead
    ReplayJob.objects.filter(pk=job.pk).update(cancel_requested=True)  # as another process would
    assert progress(2, 3) is False


def test_progress_writes_at_most_once_per_interval_but_always_the_last_chunk(recorded):
    job = replay_jobs.start(draft=versions.snapshot(), label="x", by=None)
    progress = replay_jobs.progress_callback(job.pk, interval=3600)
    assert progress(1, 3) is True
    assert progress(2, 3) is True
    job.refresh_from_db()
    assert (job.done, job.total) == (1, 3)
    assert progress(3, 3) is True
    job.refresh_from_db()
    assert (job.done, job.total) == (3, 3)


def test_cancel_before_it_runs_finishes_it_and_the_task_then_does_nothing(recorded):
    job = replay_jobs.start(draft=stricter_draft(), label="x", by=None)  # no commit: not run yet
    job = replay_jobs.cancel(job, by=None)
    assert (job.status, job.cancel_requested, job.finished_at is not None) == ("cancelled", True, True)
    run_replay(job_id=job.pk)  # the task, delivered late
    job.refresh_from_db()
    assert (job.status, job.result, job.done) == ("cancelled", None, 0)


def test_cancel_while_it_runs_stops_it_at_the_next_chunk_keeping_what_it_counted(recorded, monkeypatch):
    monkeypatch.setattr("governance.replay.CHUNK", 1)
    job = replay_jobs.start(draft=stricter_draft(), label="x", by=None)
    real = replay_jobs.progress_callback

    def cancelling_after_the_first_chunk(job_id, **kwargs):
        progress = real(job_id, interval=0)

        def seen(done, total):
            answer = progress(done, total)
            replay_jobs.cancel(ReplayJob.objects.get(pk=job_id), by=None)  # the user clicks Cancel
            return answer

        return seen

    monkeypatch.setattr(replay_jobs, "progress_callback", cancelling_after_the_first_chunk)
    run_replay(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.done, job.total, job.findings) == ("cancelled", 2, 3, [])
    assert (job.result["cancelled"], job.result["total"]) == (True, 2)


def test_cancel_of_a_finished_job_changes_nothing(recorded, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = replay_jobs.start(draft=versions.snapshot(), label="x", by=None)
    job = replay_jobs.cancel(ReplayJob.objects.get(pk=job.pk), by=None)
    assert (job.status, job.cancel_requested) == ("done", False)


def test_a_failing_replay_is_kept_on_the_job_with_its_error(recorded, django_capture_on_commit_callbacks):
    draft = versions.snapshot()
    draft["policies"]["demo"]["cedar"] = "permit(principal, action, resource"  # does not load
    with django_capture_on_commit_callbacks(execute=True):
        job = replay_jobs.start(draft=draft, label="broken", by=None)
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error.startswith("PolicyError: ")
    assert (job.result, job.finished_at is not None) == (None, True)


def test_the_task_claims_a_job_once(recorded):
    job = replay_jobs.start(draft=versions.snapshot(), label="x", by=None)
    run_replay(job_id=job.pk)
    finished_at = ReplayJob.objects.get(pk=job.pk).finished_at
    run_replay(job_id=job.pk)  # delivered twice
    assert ReplayJob.objects.get(pk=job.pk).finished_at == finished_at
    run_replay(job_id=job.pk + 1000)  # gone: nothing happens


def test_replay_saved_runs_inline_for_a_small_window_with_findings(recorded):
    job = replay_jobs.replay_saved(label="policy demo as saved", by=None)
    assert job.status == "done"
    assert job.result["total"] == 3
    assert isinstance(job.findings, list)


def test_replay_saved_starts_a_job_for_a_large_window(recorded, monkeypatch):
    monkeypatch.setattr(replay_jobs, "INLINE_MAX", 2)
    job = replay_jobs.replay_saved(label="policy demo as saved", by=None)
    assert (job.status, job.result) == ("queued", None)  # the task runs after the commit


def test_decisions_outside_the_window_are_not_replayed(recorded, django_capture_on_commit_callbacks):
    DecisionInput.objects.filter(call_id="call_0").update(occurred_at=timezone.now() - timedelta(days=10))
    with django_capture_on_commit_callbacks(execute=True):
        job = replay_jobs.start(draft=stricter_draft(), label="x", days=7, by=None)
    job.refresh_from_db()
    assert (job.result["total"], job.result["changed"]) == (2, 1)


def died_running(job: ReplayJob, *, silent_for: timedelta) -> None:
    """As if a worker claimed `job`, saved some progress `silent_for` ago, and died."""
    beat = timezone.now() - silent_for
    ReplayJob.objects.filter(pk=job.pk).update(status="running", started_at=beat, heartbeat_at=beat, done=1, total=3)


def test_a_redelivered_task_claims_a_running_job_whose_worker_died_and_finishes_it(recorded):
    job = replay_jobs.start(draft=stricter_draft(), label="x", by=None)
    died_running(job, silent_for=replay_jobs.STALE_AFTER + timedelta(seconds=1))
    assert replay_jobs.is_stale(ReplayJob.objects.get(pk=job.pk))
    run_replay(job_id=job.pk)  # acks_late: the task comes back to another worker
    job.refresh_from_db()
    assert (job.status, job.done, job.total, job.result["changed"]) == ("done", 3, 3, 2)


def test_a_running_job_whose_worker_is_alive_is_not_taken(recorded):
    job = replay_jobs.start(draft=stricter_draft(), label="x", by=None)
    died_running(job, silent_for=replay_jobs.STALE_AFTER - timedelta(seconds=5))
    assert replay_jobs.run(job_id=job.pk) is None
    job.refresh_from_db()
    assert (job.status, job.done, job.result, replay_jobs.is_stale(job)) == ("running", 1, None, False)


def test_cancel_of_a_running_job_whose_worker_died_finishes_it_at_once(recorded):
    job = replay_jobs.start(draft=stricter_draft(), label="x", by=None)
    died_running(job, silent_for=replay_jobs.STALE_AFTER + timedelta(seconds=1))
    job = replay_jobs.cancel(job, by=None)
    assert (job.status, job.finished_at is not None) == ("cancelled", True)
    run_replay(job_id=job.pk)  # redelivered afterwards: nothing happens
    assert ReplayJob.objects.get(pk=job.pk).status == "cancelled"


def test_cancel_of_a_running_job_whose_worker_is_alive_only_asks_it_to_stop(recorded):
    job = replay_jobs.start(draft=stricter_draft(), label="x", by=None)
    died_running(job, silent_for=timedelta(seconds=1))
    job = replay_jobs.cancel(job, by=None)
    assert (job.status, job.cancel_requested) == ("running", True)


def test_a_redelivered_task_finishes_a_dead_workers_job_whose_cancel_was_asked(recorded):
    job = replay_jobs.start(draft=stricter_draft(), label="x", by=None)
    died_running(job, silent_for=replay_jobs.STALE_AFTER + timedelta(seconds=1))
    ReplayJob.objects.filter(pk=job.pk).update(cancel_requested=True)  # asked while it was alive
    run_replay(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.result) == ("cancelled", None)


def test_a_worker_whose_job_was_claimed_again_stops_at_its_next_chunk(recorded):
    job = replay_jobs.start(draft=stricter_draft(), label="x", by=None)
    first_claim = timezone.now() - replay_jobs.STALE_AFTER - timedelta(seconds=1)
    ReplayJob.objects.filter(pk=job.pk).update(status="running", started_at=first_claim, heartbeat_at=first_claim)
    slow_worker = replay_jobs.progress_callback(job.pk, interval=0, claimed_at=first_claim)
    run_replay(job_id=job.pk)  # another worker takes it over and finishes it
    assert slow_worker(1, 3) is False
    job.refresh_from_db()
    assert (job.status, job.done) == ("done", 3)
