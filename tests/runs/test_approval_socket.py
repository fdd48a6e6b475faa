"""An approval request's page on its run's socket (`/ws/runs/<run>/?approval=<id>`): it is told at once when
the request is decided elsewhere or its run goes on, and only then."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from approvals.models import ApprovalRequest
from approvals.services import resolve_approval
from runs.commands import cancel_run
from runs.consumers import RunConsumer
from runs.live import run_group
from runs.models import Run, RunEvent
from tests.factories import make_user, pending_approval
from tests.runs.test_consumers import communicator

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def waiting_request() -> tuple[ApprovalRequest, object]:
    """A pending request of olivia's run (its one event: the call waiting), and a reviewer who may see it."""
    approval = pending_approval(make_user("olivia"), 7)
    RunEvent.objects.create(run=approval.run, seq=1, type="execution_event", payload={
        "tool": "refund_payment", "call_id": approval.call_id, "status": "approval_required",
        "approval_id": approval.pk})
    return approval, make_user("rita", reviewer=True)


async def approval_page(approval, user, query: str | None = None):
    comm = await communicator(RunConsumer, f"/ws/runs/{approval.run_id}/?approval={query or approval.pk}", user,
                              approval.run_id)
    connected, _code = await comm.connect()
    return comm, connected


async def nudge(approval) -> None:
    await get_channel_layer().group_send(run_group(approval.run_id), {"type": "run.changed",
                                                                      "run_id": str(approval.run_id)})


async def test_a_decision_elsewhere_is_sent_at_once_and_takes_the_buttons_away():
    approval, rita = await waiting_request()
    comm, connected = await approval_page(approval, rita)
    assert connected
    await comm.send_json_to({"type": "hello", "after": 1, "approval": "pending"})
    assert await comm.receive_nothing(timeout=0.2)  # the page is up to date

    bob = await sync_to_async(make_user)("bob", reviewer=True)
    await sync_to_async(resolve_approval)(approval=approval, reviewer=bob, resolution="denied", comment="no")
    # The resolution writes no run event (the worker's resume will): the request's status is what changed.
    await nudge(approval)

    frame = await comm.receive_from()
    assert 'data-approval-status="denied"' in frame
    assert "Denied by bob" in frame and ": no</span>" in frame
    assert '<section id="approval-actions" hx-swap-oob="true">' in frame
    assert 'id="approve"' not in frame and "Back to the queue" in frame
    await nudge(approval)
    assert await comm.receive_nothing(timeout=0.2)  # nothing changed since
    await comm.disconnect()


async def test_a_cancelled_run_is_sent_at_once_and_takes_the_buttons_away():
    approval, rita = await waiting_request()
    comm, _connected = await approval_page(approval, rita)
    await comm.send_json_to({"type": "hello", "after": 1, "approval": "pending"})
    assert await comm.receive_nothing(timeout=0.2)

    run = await sync_to_async(Run.objects.select_related("started_by").get)(pk=approval.run_id)
    assert await sync_to_async(cancel_run)(run=run, user=run.started_by)  # its events nudge the run's sockets

    frame = await comm.receive_from()
    assert "Denied because olivia cancelled the run" in frame
    assert "Run cancelled." in frame
    assert 'id="approve"' not in frame and '<section id="approval-actions" hx-swap-oob="true">' in frame
    await comm.disconnect()


async def test_the_calls_outcome_after_the_resume_is_sent():
    approval, rita = await waiting_request()
    bob = await sync_to_async(make_user)("bob", reviewer=True)
    await sync_to_async(resolve_approval)(approval=approval, reviewer=bob, resolution="approved")
    comm, _connected = await approval_page(approval, rita)
    await comm.send_json_to({"type": "hello", "after": 1, "approval": "approved"})
    assert await comm.receive_nothing(timeout=0.2)

    await sync_to_async(RunEvent.objects.create)(run_id=approval.run_id, seq=2, type="execution_event", payload={
        "tool": "refund_payment", "call_id": approval.call_id, "status": "blocked", "approval_id": approval.pk,
        "reason": "approved, but no longer allowed when re-checked before running: tool paused"})
    await nudge(approval)

    frame = await comm.receive_from()
    assert 'data-seq="2"' in frame
    assert ("Blocked when re-checked before running: approved, but no longer allowed when re-checked before "
            "running: tool paused") in frame
    assert 'id="approval-actions"' in frame
    await comm.disconnect()


async def test_no_streamed_text_reaches_an_approval_page():
    approval, rita = await waiting_request()
    comm, _connected = await approval_page(approval, rita)
    await comm.send_json_to({"type": "hello", "after": 1, "approval": "pending"})
    await get_channel_layer().group_send(run_group(approval.run_id), {
        "type": "run.delta", "run_id": str(approval.run_id), "text": "Refunding", "item_id": "m1"})
    assert await comm.receive_nothing(timeout=0.2)
    await comm.disconnect()


async def test_a_request_of_another_run_is_refused():
    approval, rita = await waiting_request()
    other = await sync_to_async(pending_approval)(await sync_to_async(make_user)("oscar"), 8)
    comm = await communicator(RunConsumer, f"/ws/runs/{approval.run_id}/?approval={other.pk}", rita,
                              approval.run_id)
    assert await comm.connect() == (False, 4403)


async def test_an_operator_may_not_watch_a_request_of_someone_elses_run():
    approval, _rita = await waiting_request()
    oscar = await sync_to_async(make_user)("oscar")
    _comm, connected = await approval_page(approval, oscar)
    assert not connected


async def test_a_malformed_request_number_gets_an_error_frame_and_a_close():
    approval, rita = await waiting_request()
    comm, connected = await approval_page(approval, rita, query="12abc")
    assert connected
    assert "approval must be the number of an approval request of this run" in await comm.receive_from()
    assert await comm.receive_output() == {"type": "websocket.close", "code": 4400}


async def test_a_hello_naming_an_unknown_status_gets_an_error_frame():
    approval, rita = await waiting_request()
    comm, _connected = await approval_page(approval, rita)
    await comm.send_json_to({"type": "hello", "after": 1, "approval": "maybe"})
    frame = await comm.receive_from()
    assert 'id="ws-error"' in frame and "must be the request&#x27;s status the page shows" in frame
    await comm.disconnect()
