"""A grant revoked while the worker settles a run's calls under it, with a redelivered resume of the same run
racing the worker, on PostgreSQL: every call runs exactly once, settled by the grant or by a reviewer."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from approvals import grants
from approvals.models import ApprovalRequest, GrantUse
from governance.emulator import ScriptedCall, ScriptedTurn
from runs import commands, worker
from runs.models import Run, RunStatus, ToolExecution
from tests.factories import make_user, register_demo_tools
from tests.support import demo_tools
from tests.support.databases import skip_unless_concurrent_writers

pytestmark = pytest.mark.django_db(transaction=True)


def _refund(order_id: str) -> ScriptedTurn:
    return ScriptedTurn(function_calls=[ScriptedCall("refund_payment", {"order_id": order_id, "amount": 250},
                                                     call_id=f"call_{order_id}")])


def _in_thread(work, errors: list) -> threading.Thread:
    def run() -> None:
        try:
            work()
        except BaseException as exc:  # surfaced by the test, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_grant_revoked_mid_run_settles_each_call_once_and_leaves_the_rest_to_review(emulator, monkeypatch):
    skip_unless_concurrent_writers()
    register_demo_tools()
    demo_tools.EXECUTIONS.clear()
    operator, rita, ray = make_user("olivia"), make_user("rita", reviewer=True), make_user("ray", reviewer=True)
    emulator.add_script(*(_refund(f"ord_{n}") for n in range(1, 5)), ScriptedTurn(text="Done."))
    run = commands.start_run(user=operator, prompt="Refund my orders", model="gpt-4.1", tool_names=["refund_payment"])
    worker.execute_run(run_id=run.pk)  # (the task queued on commit runs eagerly, this finds it done)
    first = ApprovalRequest.objects.select_related("run").get(run=run)

    # ord_3's settlement holds the grant's row when ray revokes; ord_4 is decided only after the revoke.
    settling_ord_3, revoked = threading.Event(), threading.Event()
    real_settle = worker.settle_by_grant

    def settle(**call):
        if call["call_id"] == "call_ord_4":
            assert revoked.wait(20)
        settled = real_settle(**call)
        if call["call_id"] == "call_ord_3":
            settling_ord_3.set()
        return settled

    monkeypatch.setattr(worker, "settle_by_grant", settle)
    errors: list = []
    made: list = []

    def approve_with_grant() -> None:  # its resume runs eagerly in this thread, after the commit
        made.append(grants.resolve_with_grant(approval=first, reviewer=rita, resolution="approved", scope="run"))

    def revoke() -> None:
        assert settling_ord_3.wait(20)
        duplicate = _in_thread(lambda: worker.resume_run(run_id=run.pk), errors)  # a redelivered resume task
        grants.revoke_grant(grant_id=GrantUse.objects.get(call_id="call_ord_2").grant_id, by=ray)
        revoked.set()
        duplicate.join(20)

    threads = [_in_thread(approve_with_grant, errors), _in_thread(revoke, errors)]
    for thread in threads:
        thread.join(60)
    assert errors == []

    run.refresh_from_db()
    assert run.status == RunStatus.AWAITING_APPROVAL
    assert list(GrantUse.objects.order_by("pk").values_list("call_id", flat=True)) == ["call_ord_2", "call_ord_3"]
    assert list(ApprovalRequest.objects.filter(run=run).order_by("pk").values_list("call_id", "status")) == [
        ("call_ord_1", "approved"), ("call_ord_4", "pending")]
    (grant,) = made
    grant.refresh_from_db()
    assert all(use.settled_at < grant.revoked_at for use in GrantUse.objects.all())

    later = ApprovalRequest.objects.select_related("run").get(call_id="call_ord_4")
    grants.resolve_with_grant(approval=later, reviewer=rita, resolution="approved", scope="run")  # resumes eagerly
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert sorted(e["order_id"] for e in demo_tools.EXECUTIONS) == ["ord_1", "ord_2", "ord_3", "ord_4"]
    assert ToolExecution.objects.filter(run=run).count() == 4
    assert Run.objects.get(pk=run.pk).calls_executed == 4
