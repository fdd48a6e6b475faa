"""Sticky grants in a dashboard run: the worker, the real openai SDK against the Responses emulator, the real
engine. A grant settles a later call of its tool that policy sends to review, without a request."""

from __future__ import annotations

import json

import pytest

from approvals import grants
from approvals.models import ApprovalRequest, GrantUse
from audit.models import AuditRecord
from governance.emulator import ScriptedCall, ScriptedTurn
from runs import commands, worker
from runs.models import RunStatus
from tests.support import demo_tools

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo(demo_tools_registered):
    pass


def _refund(order_id: str, amount: float) -> ScriptedTurn:
    return ScriptedTurn(function_calls=[ScriptedCall("refund_payment", {"order_id": order_id, "amount": amount},
                                                     call_id=f"call_{order_id}")])


def _paused_on_first_refund(emulator, operator, *later: ScriptedTurn):
    emulator.add_script(_refund("ord_1", 250), *later)
    run = commands.start_run(user=operator, prompt="Refund my orders", model="gpt-4.1", tool_names=["refund_payment"])
    worker.execute_run(run_id=run.pk)
    return ApprovalRequest.objects.select_related("run").get(run=run)


def _told(emulator, call_id: str) -> dict:
    """What the model was last told of the call (its function_call_output)."""
    items = emulator.requests[-1]["input"]
    return json.loads(next(i["output"] for i in items if i.get("type") == "function_call_output"
                           and i["call_id"] == call_id))


def test_a_grant_for_the_rest_of_the_run_lets_the_next_call_run_with_no_request(emulator, operator, reviewer,
                                                                                client):
    approval = _paused_on_first_refund(emulator, operator, _refund("ord_2", 300), ScriptedTurn(text="Both refunded."))
    grant = grants.resolve_with_grant(approval=approval, reviewer=reviewer, resolution="approved", scope="run")

    worker.resume_run(run_id=approval.run_id)  # the resume queued on commit does not fire inside a test transaction

    run = approval.run
    run.refresh_from_db()
    assert (run.status, run.final_text) == (RunStatus.COMPLETED, "Both refunded.")
    assert [e["order_id"] for e in demo_tools.EXECUTIONS] == ["ord_1", "ord_2"]
    assert list(ApprovalRequest.objects.filter(run=run).values_list("call_id", flat=True)) == ["call_ord_1"]
    assert _told(emulator, "call_ord_2")["status"] == "executed"
    executed = run.events.get(type="execution_event", payload__call_id="call_ord_2", payload__status="executed")
    assert executed.payload["grant_id"] == grant.pk
    assert executed.payload["resolved"] == grant.described
    record = AuditRecord.objects.get(call_id="call_ord_2", status="executed")
    assert record.details_data["grant_id"] == grant.pk
    assert AuditRecord.objects.get(status="grant_settled").call_id == "call_ord_2"
    client.force_login(operator)
    page = client.get(run.get_absolute_url()).content.decode()
    assert page.count(f'settled by <a href="/approvals/grants/#grant-{grant.pk}">grant #{grant.pk}</a>') == 2


def test_a_deny_grant_denies_the_next_call_naming_the_grant(emulator, operator, reviewer):
    approval = _paused_on_first_refund(emulator, operator, _refund("ord_2", 300), ScriptedTurn(text="Stopped."))
    grant = grants.resolve_with_grant(approval=approval, reviewer=reviewer, resolution="denied", scope="run",
                                      comment="no refunds in this run")

    worker.resume_run(run_id=approval.run_id)

    run = approval.run
    run.refresh_from_db()
    assert (run.status, run.calls_denied, demo_tools.EXECUTIONS) == (RunStatus.COMPLETED, 2, [])
    assert _told(emulator, "call_ord_2") == {"status": "denied", "reason": grant.described}
    assert ApprovalRequest.objects.filter(run=run).count() == 1
    assert GrantUse.objects.get().call_id == "call_ord_2"


def test_a_grant_never_settles_a_blocked_call(emulator, operator, reviewer):
    approval = _paused_on_first_refund(emulator, operator, _refund("ord_big", 50_000), ScriptedTurn(text="Done."))
    grants.resolve_with_grant(approval=approval, reviewer=reviewer, resolution="approved", scope="run")

    worker.resume_run(run_id=approval.run_id)

    run = approval.run
    run.refresh_from_db()
    assert [e["order_id"] for e in demo_tools.EXECUTIONS] == ["ord_1"]
    assert (run.calls_blocked, GrantUse.objects.count()) == (1, 0)
    assert _told(emulator, "call_ord_big")["status"] == "blocked"


def test_a_revoked_grant_leaves_the_next_call_to_a_reviewer(emulator, operator, reviewer):
    approval = _paused_on_first_refund(emulator, operator, _refund("ord_2", 300))
    grant = grants.resolve_with_grant(approval=approval, reviewer=reviewer, resolution="approved", scope="run")
    grants.revoke_grant(grant_id=grant.pk, by=reviewer)

    worker.resume_run(run_id=approval.run_id)

    run = approval.run
    run.refresh_from_db()
    assert run.status == RunStatus.AWAITING_APPROVAL
    assert list(ApprovalRequest.objects.filter(run=run).order_by("pk").values_list("call_id", "status")) == [
        ("call_ord_1", "approved"), ("call_ord_2", "pending")]
    assert GrantUse.objects.count() == 0


def test_a_call_a_grant_settled_runs_once_after_its_worker_died_before_applying_it(emulator, operator, reviewer):
    """The settlement is written with the call's step: a worker that takes the run over applies it."""
    approval = _paused_on_first_refund(emulator, operator, _refund("ord_2", 300), ScriptedTurn(text="Done."))
    grants.resolve_with_grant(approval=approval, reviewer=reviewer, resolution="approved", scope="run")
    claimed = worker.ClaimedRun.claim_paused(approval.run_id)
    claimed.prepare()
    resolution = claimed._claimed_with[0]
    steps = claimed.guard.resolve(claimed.state, key=resolution.call_id, resolution=resolution.resolution,
                                  comment=resolution.comment, stream=True, executor=claimed.execute_tool)
    assert claimed.follow(steps)  # ord_1 ran; ord_2 settled by the grant, not yet applied: the worker "dies"
    assert GrantUse.objects.get().call_id == "call_ord_2"
    run = approval.run
    run.__class__.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED, claim_id=None)  # as recovery does

    worker.execute_run(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert [e["order_id"] for e in demo_tools.EXECUTIONS] == ["ord_1", "ord_2"]
