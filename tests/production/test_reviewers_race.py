"""Two reviewers approve and deny the same request at the same moment, through the real ASGI
server, real Celery workers and PostgreSQL: one wins, the other is told who did, one execution at most."""

from __future__ import annotations

import threading

import pytest

from tests.production.helpers import start_run, wait_for

pytestmark = pytest.mark.production


def test_simultaneous_approve_and_deny(make_stack):
    stack = make_stack(workers=2)
    operator = stack.login("operator", "operator-demo")
    run_id = start_run(stack, operator, "Refund order ord_42 for 250", ["refund_payment"])
    (approval_id,) = wait_for(lambda: stack.sql("SELECT id FROM approvals_approvalrequest WHERE run_id = %s",
                                                [run_id]), 30, "the approval request")[0]
    reviewers = [stack.login("reviewer", "reviewer-demo"), stack.login("admin", "admin-demo")]
    tokens = [stack.csrf(r, f"/approvals/{approval_id}/") for r in reviewers]
    barrier, answers = threading.Barrier(2), [None, None]

    def click(i: int, resolution: str) -> None:
        barrier.wait()
        answers[i] = reviewers[i].post(f"/approvals/{approval_id}/", data={
            "resolution": resolution, "comment": f"{resolution} at once", "csrfmiddlewaretoken": tokens[i]})

    threads = [threading.Thread(target=click, args=(0, "approved")), threading.Thread(target=click, args=(1, "denied"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 409], statuses  # the winner is redirected to the page; the loser gets a conflict
    loser = next(a for a in answers if a.status_code == 409)
    assert "Already " in loser.text and "nothing was changed" in loser.text
    (status, reviewer), = stack.sql("SELECT a.status, u.username FROM approvals_approvalrequest a JOIN auth_user u "
                                    "ON u.id = a.resolved_by_id WHERE a.id = %s", [approval_id])
    assert (status, reviewer) in {("approved", "reviewer"), ("denied", "admin")}
    wait_for(lambda: stack.sql("SELECT 1 FROM runs_run WHERE id = %s AND status = 'completed'", [run_id]), 30,
             "the run to complete")
    executions = stack.sql("SELECT count(*) FROM runs_toolexecution WHERE run_id = %s", [run_id])[0][0]
    assert executions == (1 if status == "approved" else 0)
    resolutions = stack.sql("SELECT count(*) FROM audit_auditrecord WHERE approval_id = %s AND kind = 'approval'",
                            [approval_id])[0][0]
    assert resolutions == 1
