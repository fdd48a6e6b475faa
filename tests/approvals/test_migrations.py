"""The data migrations of approvals: what caused each resolution (0002), deadlines for pending requests (0006)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

RUNS = ("runs", "0003_run_retry_of_and_recoveries_as_columns")  # the runs table these rows are written to
BEFORE = [("approvals", "0001_initial"), RUNS]
AFTER = [("approvals", "0002_resolved_by_and_cause"), RUNS]


@pytest.mark.django_db(transaction=True)
def test_causes_and_the_canceller_are_read_from_the_rows(migrate):
    apps = migrate(BEFORE)
    User = apps.get_model("auth", "User")
    olivia, rita = User.objects.create(username="olivia"), User.objects.create(username="rita")
    run = apps.get_model("runs", "Run").objects.create(started_by_id=olivia.pk, prompt="p", model="m")
    ApprovalRequest = apps.get_model("approvals", "ApprovalRequest")

    def request(call_id, **fields):
        return ApprovalRequest.objects.create(run=run, call_id=call_id, tool="t", arguments={}, arguments_digest="0",
                                              decision={}, **fields).pk

    rows = {
        "review": request("c1", status="denied", reviewer=rita, comment="no"),
        "expiry": request("c2", status="expired", comment="expired: nobody approved within 60 seconds"),
        "run_cancelled": request("c3", status="denied", comment="run cancelled by olivia"),
        "run_failed": request("c4", status="denied", comment="the run failed: its worker stopped responding"),
        "": request("c5"),
    }

    ApprovalRequest = migrate(AFTER).get_model("approvals", "ApprovalRequest")

    got = {cause: ApprovalRequest.objects.values_list("cause", "resolved_by_id").get(pk=pk)
           for cause, pk in rows.items()}
    assert got == {"review": ("review", rita.pk), "expiry": ("expiry", None),
                   "run_cancelled": ("run_cancelled", olivia.pk), "run_failed": ("run_failed", None), "": ("", None)}


DEADLINES_RUNS = ("runs", "0006_run_state_entries")  # approvals 0004 needs it
DEADLINES_BEFORE = [("approvals", "0005_approval_votes"), DEADLINES_RUNS]
DEADLINES_AFTER = [("approvals", "0006_deadlines"), DEADLINES_RUNS]


@pytest.mark.django_db(transaction=True)
def test_pending_requests_get_an_expiry_and_a_half_time(migrate, settings):
    """approvals 0006: a pending request that had no expiry (the old TTL 0) gets the default window; every
    pending one gets its half-time; resolved ones are left as they were."""
    settings.GOVERNANCE_APPROVAL_TTL_SECONDS = 3600
    apps = migrate(DEADLINES_BEFORE)
    olivia = apps.get_model("auth", "User").objects.create(username="olivia")
    run = apps.get_model("runs", "Run").objects.create(started_by_id=olivia.pk, prompt="p", model="m")
    ApprovalRequest = apps.get_model("approvals", "ApprovalRequest")
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def request(call_id, **fields):
        pk = ApprovalRequest.objects.create(run=run, call_id=call_id, tool="t", arguments={}, arguments_digest="0",
                                            decision={}, **fields).pk
        ApprovalRequest.objects.filter(pk=pk).update(requested_at=t0)
        return pk

    rows = {"no expiry": request("c1"), "expiry": request("c2", expires_at=t0 + timedelta(seconds=600)),
            "resolved": request("c3", status="denied")}

    ApprovalRequest = migrate(DEADLINES_AFTER).get_model("approvals", "ApprovalRequest")

    got = {name: ApprovalRequest.objects.values_list("expires_at", "remind_at").get(pk=pk) for name, pk in rows.items()}
    assert got == {"no expiry": (t0 + timedelta(seconds=3600), t0 + timedelta(seconds=1800)),
                   "expiry": (t0 + timedelta(seconds=600), t0 + timedelta(seconds=300)),
                   "resolved": (None, None)}
