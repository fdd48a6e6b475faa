"""`runs.remote`: a remote agent's session as a run that no worker drives (the API's side is tested in
tests/agents/test_remote_sessions.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.utils import timezone

from approvals.models import ApprovalRequest
from approvals.services import resolve_approval
from audit.models import AuditKind, AuditRecord
from runs import receivers, remote
from runs.consumers import DashboardConsumer
from runs.models import Run, RunStatus
from runs.recovery import recover_stalled_runs
from tests.factories import make_user, pending_approval

pytestmark = pytest.mark.django_db


def remote_run(session: str = "s-1", **fields) -> Run:
    run = remote.open_session(agent="billing-agent", actor="AI_AGENT_001", session=session)
    Run.objects.filter(pk=run.pk).update(**fields)
    run.refresh_from_db()
    return run


def test_a_remote_runs_status_records_name_its_agents_actor():
    run = remote_run()
    record = AuditRecord.objects.get(kind=AuditKind.RUN_STATUS)
    assert (record.run_id, record.actor, record.reason) == (
        run.pk, "AI_AGENT_001", "remote session s-1 of billing-agent (actor AI_AGENT_001) opened")


def test_recovery_leaves_remote_sessions_alone_however_long_they_are_quiet():
    long_ago = timezone.now() - timedelta(hours=3)
    run = remote_run(started_at=long_ago, updated_at=long_ago)
    assert (recover_stalled_runs(), Run.objects.get(pk=run.pk).status) == (0, RunStatus.RUNNING)


def test_a_resolution_in_a_remote_run_is_shown_and_queues_no_resume(monkeypatch, reviewer, operator,
                                                                    django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr(receivers, "enqueue_resume", queued.append)
    run = remote_run()
    remote_request = ApprovalRequest.objects.create(run=run, call_id="c-1", tool="refund_payment", arguments={},
                                                    arguments_digest="d", decision={})
    remote.await_approval(run, tool="refund_payment", approval_id=remote_request.pk)
    dashboard_request = pending_approval(operator)
    with django_capture_on_commit_callbacks(execute=True):
        resolve_approval(approval=remote_request, reviewer=reviewer, resolution="approved", comment="fine")
    resolve_approval(approval=dashboard_request, reviewer=reviewer, resolution="approved")
    assert queued == [dashboard_request.run_id]
    assert [(e.type, e.payload) for e in run.events.order_by("seq")][-2:] == [
        ("approval_resolved", {"approval_id": remote_request.pk, "tool": "refund_payment", "status": "approved",
                               "outcome": "approved by rita", "comment": "fine"}),
        ("status", {"status": RunStatus.RUNNING,
                    "detail": "no call waits any more: refund_payment approved by rita"})]


def test_only_a_cancelled_session_refuses_calls_naming_who_cancelled_it():
    reviewer = make_user("rita", reviewer=True)
    open_run, cancelled = remote_run("a"), remote_run("b", status=RunStatus.CANCELLED, cancelled_by=reviewer)
    assert (remote.refusal(open_run), remote.refusal(cancelled)) == (None, "session cancelled by rita")


@pytest.mark.django_db(transaction=True)
async def test_the_dashboards_runs_list_keeps_its_origin_filter_when_it_updates_live():
    from tests.runs.test_consumers import communicator

    reviewer = await sync_to_async(make_user)("rita", reviewer=True)
    await sync_to_async(remote_run)("ticket-4711")
    await sync_to_async(Run.objects.create)(started_by=reviewer, prompt="Look up ord_1", model="gpt-4.1")
    frames = {}
    for query in (b"show=runs&origin=remote", b"show=runs"):
        comm = await communicator(DashboardConsumer, f"/ws/dashboard/?{query.decode()}", reviewer)
        comm.scope["query_string"] = query
        assert (await comm.connect())[0]
        await comm.receive_from()
        await get_channel_layer().group_send("dashboard", {"type": "dashboard.changed"})
        frames[query] = await comm.receive_from()
        await comm.disconnect()
    assert [("ticket-4711" in frame, "Look up ord_1" in frame) for frame in frames.values()] == [
        (True, False), (True, True)]
