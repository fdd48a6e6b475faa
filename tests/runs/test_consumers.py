"""The live websocket consumers, through channels' WebsocketCommunicator and the real ASGI app."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from config.asgi import application
from runs.consumers import DashboardConsumer, RunConsumer
from runs.live import run_group
from runs.models import Run, RunEvent
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


def communicator(consumer, path: str, user, run_id=None) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(consumer.as_asgi(), path)
    comm.scope["user"] = user
    if run_id is not None:
        comm.scope["url_route"] = {"kwargs": {"run_id": run_id}}
    return comm


@sync_to_async
def run_with_events(username: str, count: int) -> Run:
    run = Run.objects.create(started_by=make_user(username), prompt="p", model="m")
    for seq in range(1, count + 1):
        RunEvent.objects.create(run=run, seq=seq, type="status", payload={"status": "running", "detail": f"e{seq}"})
    return run


async def test_anonymous_connection_refused():
    comm = WebsocketCommunicator(application, "/ws/dashboard/", headers=[(b"origin", b"http://localhost")])
    connected, code = await comm.connect()
    assert (connected, code) == (False, 4403)


async def test_other_users_run_refused():
    run = await run_with_events("owner", 1)
    stranger = await sync_to_async(make_user)("stranger")
    comm = communicator(RunConsumer, f"/ws/runs/{run.pk}/", stranger, run.pk)
    connected, code = await comm.connect()
    assert (connected, code) == (False, 4403)


async def test_hello_catches_up_in_order_without_duplicates():
    run = await run_with_events("owner", 4)
    comm = communicator(RunConsumer, f"/ws/runs/{run.pk}/", run.started_by, run.pk)
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "hello", "after": 2})
    frame = await comm.receive_from()
    assert frame.count('<li id="event-') == 2
    assert frame.index('id="event-3"') < frame.index('id="event-4"')
    assert 'id="event-2"' not in frame
    await comm.disconnect()


async def test_nudge_sends_exactly_the_new_event():
    run = await run_with_events("owner", 2)
    comm = communicator(RunConsumer, f"/ws/runs/{run.pk}/", run.started_by, run.pk)
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "hello", "after": 2})
    assert await comm.receive_nothing(timeout=0.2)
    await sync_to_async(RunEvent.objects.create)(run=run, seq=3, type="status", payload={"status": "completed"})
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    await layer.group_send(run_group(run.pk), {"type": "run.changed", "run_id": str(run.pk), "seq": 3})
    await layer.group_send(run_group(run.pk), {"type": "run.changed", "run_id": str(run.pk), "seq": 3})
    frame = await comm.receive_from()
    assert frame.count('<li id="event-') == 1 and 'id="event-3"' in frame
    assert await comm.receive_nothing(timeout=0.2)  # the repeated nudge found nothing new
    await comm.disconnect()


BAD_CLIENT_MESSAGES = [
    pytest.param("not json", "messages must be JSON", id="not-json"),
    pytest.param('{"type": "drop tables"}', "unknown message", id="unknown-type"),
    pytest.param('{"type": "hello", "after": -1}', "must be a whole number", id="after-negative"),
    pytest.param("[1, 2]", "unknown message", id="json-array"),
    pytest.param('"hello"', "unknown message", id="json-string"),
    pytest.param("null", "unknown message", id="json-null"),
    pytest.param("{}", "unknown message", id="no-type"),
    pytest.param('{"type": ["hello"]}', "unknown message", id="type-not-a-string"),
    pytest.param('{"type": "hello", "after": "x"}', "must be a whole number", id="after-string"),
    pytest.param('{"type": "hello", "after": true}', "must be a whole number", id="after-bool"),
    pytest.param('{"type": "hello", "after": 1.5}', "must be a whole number", id="after-float"),
    pytest.param('{"type": "hello", "after": null}', "must be a whole number", id="after-null"),
    pytest.param('{"type": "hello", "after": 0, "pad": "' + "x" * 5000 + '"}', "at most 4096 bytes",
                 id="oversized"),
    pytest.param('{"type": "hello", "after": 0, "pad": "' + "é" * 3000 + '"}', "at most 4096 bytes",
                 id="oversized-in-bytes-not-characters"),
    pytest.param("[" * 2000 + "]" * 2000, "messages must be JSON", id="nested-past-recursion-limit"),
]


@pytest.mark.parametrize(("message", "error"), BAD_CLIENT_MESSAGES)
async def test_bad_client_message_gets_error_frame_and_connection_stays(message, error):
    run = await run_with_events("owner", 1)
    comm = communicator(RunConsumer, f"/ws/runs/{run.pk}/", run.started_by, run.pk)
    assert (await comm.connect())[0]
    await comm.send_to(text_data=message)
    frame = await comm.receive_from()
    assert 'id="ws-error"' in frame and error in frame
    assert 'id="event-1"' not in frame  # a refused message does not count as a hello
    await comm.send_json_to({"type": "hello", "after": 0})
    assert 'id="event-1"' in await comm.receive_from()
    await comm.disconnect()


async def test_binary_frame_gets_error_frame_and_connection_stays():
    run = await run_with_events("owner", 1)
    comm = communicator(RunConsumer, f"/ws/runs/{run.pk}/", run.started_by, run.pk)
    assert (await comm.connect())[0]
    await comm.send_to(bytes_data=b'{"type": "hello", "after": 0}')
    assert "messages must be JSON text" in await comm.receive_from()
    await comm.send_json_to({"type": "hello", "after": 0})
    assert 'id="event-1"' in await comm.receive_from()
    await comm.disconnect()


@pytest.mark.parametrize(("message", "error"), [BAD_CLIENT_MESSAGES[-1], BAD_CLIENT_MESSAGES[4]])
async def test_dashboard_bad_message_gets_error_frame_and_connection_stays(message, error):
    user = await sync_to_async(make_user)("olga")
    comm = communicator(DashboardConsumer, "/ws/dashboard/?show=runs", user)
    comm.scope["query_string"] = b"show=runs"
    assert (await comm.connect())[0]
    assert 'id="run-rows"' in await comm.receive_from()  # the state sent on every connect
    await comm.send_to(text_data=message)
    frame = await comm.receive_from()
    assert 'id="ws-error"' in frame and error in frame
    await comm.send_json_to({"type": "hello", "after": 0})
    assert 'id="run-rows"' in await comm.receive_from()
    await comm.disconnect()


async def test_dashboard_sends_pending_count_and_requested_sections():
    user = await sync_to_async(make_user)("olga")
    comm = communicator(DashboardConsumer, "/ws/dashboard/?show=runs", user)
    comm.scope["query_string"] = b"show=runs"
    assert (await comm.connect())[0]
    first = await comm.receive_from()  # the current state at once: a reconnecting page catches up
    assert 'id="pending-count"' in first and 'id="run-rows"' in first
    from channels.layers import get_channel_layer

    await get_channel_layer().group_send("dashboard", {"type": "dashboard.changed"})
    frame = await comm.receive_from()
    assert 'id="pending-count"' in frame and 'id="run-rows"' in frame
    assert 'id="approval-rows"' not in frame
    await comm.disconnect()


async def test_anonymous_user_object_refused_by_consumer():
    comm = communicator(DashboardConsumer, "/ws/dashboard/", AnonymousUser())
    assert (await comm.connect()) == (False, 4403)


@pytest.mark.parametrize(
    ("status", "cancel", "retry"),
    [("running", True, False), ("awaiting_approval", True, False), ("failed", False, True),
     ("completed", False, False)],
)
async def test_live_update_offers_the_buttons_the_page_offers(status, cancel, retry):
    """The status section is re-rendered on every update: it must keep the run's buttons (they post
    with HTMX, which sends the page's CSRF token as a header), and show Retry once the run fails."""
    run = await run_with_events("owner", 1)
    await sync_to_async(Run.objects.filter(pk=run.pk).update)(status=status)
    comm = communicator(RunConsumer, f"/ws/runs/{run.pk}/", run.started_by, run.pk)
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "hello", "after": 0})
    frame = await comm.receive_from()
    assert 'id="run-status"' in frame
    assert (f'hx-post="/runs/{run.pk}/cancel/"' in frame) is cancel
    assert (f'hx-post="/runs/{run.pk}/retry/"' in frame) is retry
    await comm.disconnect()


def _shown_status(frames: list[str]) -> str:
    """The status badge the page shows after swapping in `frames` in order."""
    shown = ""
    for frame in frames:
        found = re.search(r'id="run-status".*?class="badge status-([a-z_]+)"', frame, re.DOTALL)
        shown = found.group(1) if found else shown
    return shown


def _last_seq(frames: list[str], after: int) -> int:
    return max([after, *(int(s) for frame in frames for s in re.findall(r'data-seq="(\d+)"', frame))])


async def test_run_finishing_between_the_consumers_reads_does_not_leave_a_stale_status(end_run_during_first_read):
    """Another worker commits the run's end (status and last event, one transaction) while the consumer
    renders an update. The page must end up showing the run's real status: a status section older than
    the events sent with it was never corrected, since the page then had every event and asked for
    nothing more (the README's "page stopped receiving updates" after an approval)."""
    run = await run_with_events("owner", 6)
    await sync_to_async(Run.objects.filter(pk=run.pk).update)(status="running")

    comm = communicator(RunConsumer, f"/ws/runs/{run.pk}/", run.started_by, run.pk)
    assert (await comm.connect())[0]
    end_run_during_first_read(run, 7, status="failed")
    frames, after = [], 5
    for _ in range(3):  # the page says hello again every 5 s with the last seq it shows
        await comm.send_json_to({"type": "hello", "after": after})
        if await comm.receive_nothing(timeout=0.5):
            break
        frames.append(await comm.receive_from())
        after = _last_seq(frames, after)
    assert after == 7
    assert _shown_status(frames) == "failed"
    await comm.disconnect()


@sync_to_async
def pending_requests_on_runs_of(username: str, count: int) -> None:
    from approvals.models import ApprovalRequest

    owner = make_user(username)
    for number in range(count):
        run = Run.objects.create(started_by=owner, prompt="p", model="m", status="awaiting_approval")
        ApprovalRequest.objects.create(run=run, call_id=f"call_{number}", tool="refund_payment", arguments={},
                                       arguments_digest="0" * 64, decision={"outcome": "requires_approval"})


async def test_dashboard_count_of_an_operator_is_what_their_queue_lists():
    """The nav count sent to an operator counts only the requests their queue shows (none of others' runs)."""
    await pending_requests_on_runs_of("owen", 2)
    operator = await sync_to_async(make_user)("olivia")
    comm = communicator(DashboardConsumer, "/ws/dashboard/?show=approvals", operator)
    comm.scope["query_string"] = b"show=approvals"
    assert (await comm.connect())[0]
    frame = await comm.receive_from()
    assert re.search(r'<span id="pending-count"[^>]*>(\d+)</span>', frame).group(1) == "0"
    assert frame.count("review</a>") == 0
    await comm.disconnect()
