"""The data migration that records what caused each resolution (approvals 0002)."""

from __future__ import annotations

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
