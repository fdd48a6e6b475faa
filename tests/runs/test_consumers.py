"""The live websocket consumers, through channels' WebsocketCommunicator and the real ASGI app."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from config.asgi import application
from runs.consumers import DashboardConsumer, RunConsumer
from runs.live import run_group
from runs.models import Run, RunEvent
from tests.factories import blocked_run, make_user, start_run_now

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def logged_in(user) -> Client:
    """A browser session of `user`, as the login page makes it (a row in the session store)."""
    client = Client()
    client.force_login(user)
    return client


async def communicator(consumer, path: str, user, run_id=None) -> WebsocketCommunicator:
    """The consumer as the ASGI stack hands it a socket: the user and the session they logged in with."""
    comm = WebsocketCommunicator(consumer.as_asgi(), path)
    comm.scope["user"] = user
    if user.is_authenticated:
        comm.scope["session"] = SessionStore((await logged_in(user)).session.session_key)
    if run_id is not None:
        comm.scope["url_route"] = {"kwargs": {"run_id": run_id}}
    return comm


async def browser_socket(path: str, client: Client) -> WebsocketCommunicator:
    """A socket through the real ASGI app (origin check, session cookie, auth), as the page opens it."""
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    comm = WebsocketCommunicator(application, path, headers=[(b"origin", b"http://localhost"),
                                                             (b"cookie", cookie.encode())])
    connected, _code = await comm.connect()
    assert connected
    return comm


async def run_page(run: Run, client: Client | None = None) -> tuple[WebsocketCommunicator, str]:
    """The run page's socket after its first hello: the socket and the update it answered with.
    With `client`, through the real ASGI app with that browser's session."""
    if client is None:
        comm = await communicator(RunConsumer, f"/ws/runs/{run.pk}/", run.started_by, run.pk)
        assert (await comm.connect())[0]
    else:
        comm = await browser_socket(f"/ws/runs/{run.pk}/", client)
    await comm.send_json_to({"type": "hello", "after": 0})
    return comm, await comm.receive_from()


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
    comm = await communicator(RunConsumer, f"/ws/runs/{run.pk}/", stranger, run.pk)
    connected, code = await comm.connect()
    assert (connected, code) == (False, 4403)


async def test_hello_catches_up_in_order_without_duplicates():
    run = await run_with_events("owner", 4)
    comm = await communicator(RunConsumer, f"/ws/runs/{run.pk}/", run.started_by, run.pk)
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "hello", "after": 2})
    frame = await comm.receive_from()
    assert frame.count('<li id="event-') == 2
    assert frame.index('id="event-3"') < frame.index('id="event-4"')
    assert 'id="event-2"' not in frame
    await comm.disconnect()


async def test_nudge_sends_exactly_the_new_event():
    run = await run_with_events("owner", 2)
    comm = await communicator(RunConsumer, f"/ws/runs/{run.pk}/", run.started_by, run.pk)
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
    comm = await communicator(RunConsumer, f"/ws/runs/{run.pk}/", run.started_by, run.pk)
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
    comm = await communicator(RunConsumer, f"/ws/runs/{run.pk}/", run.started_by, run.pk)
    assert (await comm.connect())[0]
    await comm.send_to(bytes_data=b'{"type": "hello", "after": 0}')
    assert "messages must be JSON text" in await comm.receive_from()
    await comm.send_json_to({"type": "hello", "after": 0})
    assert 'id="event-1"' in await comm.receive_from()
    await comm.disconnect()


@pytest.mark.parametrize(("message", "error"), [BAD_CLIENT_MESSAGES[-1], BAD_CLIENT_MESSAGES[4]])
async def test_dashboard_bad_message_gets_error_frame_and_connection_stays(message, error):
    user = await sync_to_async(make_user)("olga")
    comm = await communicator(DashboardConsumer, "/ws/dashboard/?show=runs", user)
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
    comm = await communicator(DashboardConsumer, "/ws/dashboard/?show=runs", user)
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
    comm = await communicator(DashboardConsumer, "/ws/dashboard/", AnonymousUser())
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
    comm = await communicator(RunConsumer, f"/ws/runs/{run.pk}/", run.started_by, run.pk)
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

    comm = await communicator(RunConsumer, f"/ws/runs/{run.pk}/", run.started_by, run.pk)
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


# --- the session behind a socket: logout and expiry close it ------------------------------------


async def nudge_with_new_event(run: Run, seq: int) -> None:
    await sync_to_async(RunEvent.objects.create)(run=run, seq=seq, type="execution_event",
                                                 payload={"tool": "lookup_order", "status": "executed",
                                                          "output": {"secret": "after logout"}})
    await get_channel_layer().group_send(run_group(run.pk), {"type": "run.changed", "run_id": str(run.pk),
                                                             "seq": seq})


async def assert_closed_for_the_session(comm: WebsocketCommunicator) -> None:
    """The next thing the socket does is close with 4401 (session ended), and then it sends nothing."""
    assert await comm.receive_output() == {"type": "websocket.close", "code": 4401}
    assert await comm.receive_nothing(timeout=0.3)


def log_out(client: Client) -> None:
    client.post("/accounts/logout/")


def expire(client: Client) -> None:
    Session.objects.filter(pk=client.session.session_key).update(expire_date=timezone.now() - timedelta(seconds=1))


def delete_from_the_store(client: Client) -> None:
    """Not through logout: an admin cleared it, or `clearsessions`."""
    SessionStore(client.session.session_key).delete()


def change_password_elsewhere(client: Client) -> None:
    """A new password ends the user's other sessions (Django's session hash), their sockets too."""
    user = Session.objects.get(pk=client.session.session_key).get_decoded()["_auth_user_id"]
    owner = User.objects.get(pk=user)
    owner.set_password("a-new-password-1234")
    owner.save()


@pytest.mark.parametrize("end_session", [log_out, expire, delete_from_the_store, change_password_elsewhere])
async def test_run_socket_closes_when_its_session_ends_and_sends_nothing_more(end_session):
    run = await run_with_events("owner", 1)
    client = await logged_in(run.started_by)
    comm, first = await run_page(run, client)
    assert 'id="event-1"' in first
    await sync_to_async(end_session)(client)
    await nudge_with_new_event(run, 2)
    await assert_closed_for_the_session(comm)


async def test_run_socket_closes_at_logout_before_any_more_streamed_text():
    run = await run_with_events("owner", 1)
    client = await logged_in(run.started_by)
    comm, _first = await run_page(run, client)
    await sync_to_async(log_out)(client)
    await send_delta(run, "msg_1", "streamed after logout")
    await assert_closed_for_the_session(comm)


async def test_dashboard_socket_closes_at_logout_and_sends_nothing_more():
    user = await sync_to_async(make_user)("olga")
    client = await logged_in(user)
    comm = await browser_socket("/ws/dashboard/?show=runs", client)
    assert 'id="pending-count"' in await comm.receive_from()
    await sync_to_async(log_out)(client)
    await get_channel_layer().group_send("dashboard", {"type": "dashboard.changed"})
    await assert_closed_for_the_session(comm)


async def test_logout_of_another_session_leaves_this_socket_open():
    run = await run_with_events("owner", 1)
    here, elsewhere = await logged_in(run.started_by), await logged_in(run.started_by)
    comm, _first = await run_page(run, here)
    await sync_to_async(log_out)(elsewhere)
    await nudge_with_new_event(run, 2)
    assert 'id="event-2"' in await comm.receive_from()
    await comm.disconnect()


# --- streaming text never lands after the text it belongs to ------------------------------------


@sync_to_async
def run_that_answered(status: str) -> Run:
    """A run whose model wrote the text of item `msg_1` whole (event 2), then went to `status`."""
    run = Run.objects.create(started_by=make_user("owner"), prompt="p", model="m", status=status,
                             final_text="text of msg_1" if status == "completed" else "")
    events = [("status", {"status": "running", "detail": "claimed"}),
              ("llm_text_done", {"text": "text of msg_1", "item_id": "msg_1"}),
              ("status", {"status": status, "detail": "x"})]
    for seq, (type_, payload) in enumerate(events, start=1):
        RunEvent.objects.create(run=run, seq=seq, type=type_, payload=payload)
    return run


async def send_delta(run: Run, item_id: str, text: str) -> None:
    await get_channel_layer().group_send(run_group(run.pk), {"type": "run.delta", "run_id": str(run.pk),
                                                             "text": text, "item_id": item_id})


@pytest.mark.parametrize(
    "status",
    [
        # The order the probe saw in 6 runs of 20: the `completed` update, then the last streamed text.
        pytest.param("completed", id="after-the-completed-update"),
        # A text shown whole in the timeline (its llm_text_done), the run paused after it.
        pytest.param("awaiting_approval", id="after-its-text-is-shown-whole"),
    ],
)
async def test_late_delta_is_not_sent(status):
    run = await run_that_answered(status)
    comm, first = await run_page(run)
    assert 'id="event-2"' in first and "text of msg_1" in first
    await send_delta(run, "msg_1", "text of msg_1")
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def test_delta_of_a_new_text_is_sent_with_what_it_belongs_to():
    run = await run_that_answered("running")
    comm, _first = await run_page(run)
    await send_delta(run, "msg_2", "Now the <b>refund</b>")
    assert await comm.receive_from() == (
        '<pre id="streaming-text" hx-swap-oob="beforeend" data-delta data-item="msg_2">'
        'Now the &lt;b&gt;refund&lt;/b&gt;</pre>\n')


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
    comm = await communicator(DashboardConsumer, "/ws/dashboard/?show=approvals", operator)
    comm.scope["query_string"] = b"show=approvals"
    assert (await comm.connect())[0]
    frame = await comm.receive_from()
    assert re.search(r'<span id="pending-count"[^>]*>(\d+)</span>', frame).group(1) == "0"
    assert frame.count("review</a>") == 0
    await comm.disconnect()


# --- what happened to a run's calls, in its live updates ------------------------------------------


def _badges(frame: str) -> list[str]:
    return re.findall(r'<span class="badge status-[^"]*">[^<]*</span>', frame)


@sync_to_async
def with_owner(run: Run) -> Run:
    """The run with its owner read, as the async tests use it."""
    return Run.objects.select_related("started_by").get(pk=run.pk)


async def test_run_page_update_says_its_only_call_was_blocked(demo_tools_registered):
    run = await with_owner(await sync_to_async(blocked_run)(await sync_to_async(make_user)("owner")))
    comm, frame = await run_page(run)
    status = frame[frame.index('id="run-status"'):]
    assert _badges(status)[0] == '<span class="badge status-completed calls-not-done">completed · 1 blocked</span>'
    await comm.disconnect()


@sync_to_async
def blocked_and_clean_runs(username: str) -> tuple[Run, Run]:
    owner = make_user(username)
    blocked, clean = blocked_run(owner), start_run_now(owner, "Look up order ord_100", tools=("lookup_order",))
    return Run.objects.select_related("started_by").get(pk=blocked.pk), clean


def _listed(frame: str) -> list[str]:
    return re.findall(r'<a href="/runs/([0-9a-f-]+)/">', frame[frame.index('id="run-rows"'):])


async def test_dashboard_keeps_the_runs_list_filtered_on_every_update(demo_tools_registered):
    blocked, _clean = await blocked_and_clean_runs("olga")
    comm = await communicator(DashboardConsumer, "/ws/dashboard/?show=runs&outcome=blocked", blocked.started_by)
    comm.scope["query_string"] = b"show=runs&outcome=blocked"
    assert (await comm.connect())[0]
    assert _listed(await comm.receive_from()) == [str(blocked.pk)]
    later = await sync_to_async(start_run_now)(blocked.started_by, "Delete customer cus_10", tools=("delete_customer",))
    await get_channel_layer().group_send("dashboard", {"type": "dashboard.changed"})
    assert _listed(await comm.receive_from()) == [str(later.pk), str(blocked.pk)]
    await comm.disconnect()


async def test_dashboard_unknown_outcome_filter_gets_error_frame_and_no_list(demo_tools_registered):
    blocked, _clean = await blocked_and_clean_runs("olga")
    comm = await communicator(DashboardConsumer, "/ws/dashboard/?show=runs&outcome=all", blocked.started_by)
    comm.scope["query_string"] = b"show=runs&outcome=all"
    assert (await comm.connect())[0]
    error = await comm.receive_from()
    assert re.search(r'<div id="ws-error"[^>]*>([^<]*)</div>', error).group(1) == (
        "The runs list is not updated: outcome: Select a valid choice. all is not one of the available choices.")
    frame = await comm.receive_from()
    assert 'id="pending-count"' in frame and 'id="run-rows"' not in frame
    await comm.disconnect()


# --- updates paced per socket, rendered once, the dashboard nudged only for what it shows ---------


def _seqs(frames: list[str]) -> list[int]:
    return [int(s) for frame in frames for s in re.findall(r'<li id="event-(\d+)"', frame)]


async def receive_until_seq(comm: WebsocketCommunicator, last: int) -> list[str]:
    """Frames until one carries event `last` (each wait bounded, so a missing event fails the test)."""
    frames: list[str] = []
    while last not in _seqs(frames):
        frames.append(await comm.receive_from(timeout=5))
    return frames


async def append_and_nudge(run: Run, seq: int, type_: str = "status", payload: dict | None = None) -> None:
    """An event committed and its nudge sent, as `append_event` does after the commit."""
    await sync_to_async(RunEvent.objects.create)(run=run, seq=seq, type=type_,
                                                 payload=payload or {"status": "running", "detail": f"e{seq}"})
    await get_channel_layer().group_send(run_group(run.pk), {"type": "run.changed", "run_id": str(run.pk), "seq": seq})


async def test_burst_of_events_reaches_the_page_in_two_frames_in_order_none_missing(monkeypatch):
    """Twenty events committed one after another, each nudging the page: the page gets the first
    at once and the rest together at the end of the interval, every event once, in order."""
    monkeypatch.setattr(RunConsumer, "UPDATE_SECONDS", 1.0)
    run = await run_with_events("owner", 1)
    comm, first = await run_page(run)
    assert _seqs([first]) == [1]
    for seq in range(2, 22):
        await append_and_nudge(run, seq)
    frames = await receive_until_seq(comm, 21)
    assert _seqs(frames) == list(range(2, 22))
    assert len(frames) <= 2
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def test_hello_during_a_paced_update_sends_no_event_twice(monkeypatch):
    """The page's hello (its 5 s safety net) while an update waits for its interval: each event once."""
    monkeypatch.setattr(RunConsumer, "UPDATE_SECONDS", 1.0)
    run = await run_with_events("owner", 1)
    comm, _first = await run_page(run)
    await append_and_nudge(run, 2)
    frames = [await comm.receive_from()]  # the first nudge after a quiet spell: at once
    await append_and_nudge(run, 3)  # this one waits for the interval
    await comm.send_json_to({"type": "hello", "after": 2})
    frames.append(await comm.receive_from())
    assert await comm.receive_nothing(timeout=1.5)  # the paced update found nothing new
    assert _seqs(frames) == [2, 3]
    await comm.disconnect()


async def test_two_pages_of_one_run_share_one_render_of_each_event(monkeypatch):
    from runs import live_fragments

    rendered: list[str] = []
    original = live_fragments.render_to_string

    def counting(template, context=None, *args, **kwargs):
        rendered.append(template)
        return original(template, context, *args, **kwargs)

    monkeypatch.setattr(live_fragments, "render_to_string", counting)
    run = await run_with_events("owner", 1)
    (one, _), (two, _) = await run_page(run), await run_page(run)
    for seq in (2, 3, 4):
        await append_and_nudge(run, seq)
    frames_one, frames_two = await receive_until_seq(one, 4), await receive_until_seq(two, 4)
    assert _seqs(frames_one) == _seqs(frames_two) == [2, 3, 4]
    assert rendered.count("runs/_event.html") == 4  # event 1 for the first hello, then 2, 3 and 4 once each
    assert rendered.count("runs/detail.html#run-status") == 1  # the run did not change: one status section
    await one.disconnect()
    await two.disconnect()


async def appended(run: Run, type_: str, payload: dict) -> None:
    """Through the event log, as the worker appends: committed, then nudged."""
    from django.db import transaction

    from runs.event_log import append_event

    def work() -> None:
        with transaction.atomic():
            append_event(run.pk, type_, payload)

    await sync_to_async(work)()


async def test_dashboard_is_not_updated_for_an_event_it_does_not_show():
    run = await run_with_events("owner", 1)
    page, _first = await run_page(run)
    dashboard = await communicator(DashboardConsumer, "/ws/dashboard/?show=runs", run.started_by)
    dashboard.scope["query_string"] = b"show=runs"
    assert (await dashboard.connect())[0]
    await dashboard.receive_from()  # the state at connect
    await appended(run, "llm_text_done", {"text": "Looking up the order", "item_id": "msg_1"})
    assert _seqs(await receive_until_seq(page, 2)) == [2]  # the run's page shows it
    assert await dashboard.receive_nothing(timeout=0.5)  # nothing the dashboard shows changed
    await appended(run, "status", {"status": "completed", "detail": "the model gave its final answer"})
    assert _seqs(await receive_until_seq(page, 3)) == [3]
    frame = await dashboard.receive_from()
    assert 'id="run-rows"' in frame
    await page.disconnect()
    await dashboard.disconnect()


@sync_to_async
def may_see_every_run(username: str) -> User:
    from django.contrib.auth.models import Permission

    user = make_user(username)
    user.user_permissions.add(Permission.objects.get(codename="view_run", content_type__app_label="runs"))
    return User.objects.get(pk=user.pk)  # permissions read afresh


async def test_shared_status_section_keeps_each_viewers_buttons():
    """The owner and someone who may see every run but cancel none watch one run: the status section
    is shared only where it is the same, so the Cancel button goes to the owner alone."""
    run = await run_with_events("owner", 1)
    await sync_to_async(Run.objects.filter(pk=run.pk).update)(status="running")
    watcher = await may_see_every_run("watcher")
    owners, _ = await run_page(run)
    watchers = await communicator(RunConsumer, f"/ws/runs/{run.pk}/", watcher, run.pk)
    assert (await watchers.connect())[0]
    await watchers.send_json_to({"type": "hello", "after": 1})
    assert await watchers.receive_nothing(timeout=0.2)
    await append_and_nudge(run, 2)
    owner_frame, watcher_frame = await owners.receive_from(timeout=5), await watchers.receive_from(timeout=5)
    assert _seqs([owner_frame]) == _seqs([watcher_frame]) == [2]
    assert 'id="cancel-run"' in owner_frame
    assert 'id="cancel-run"' not in watcher_frame
    await owners.disconnect()
    await watchers.disconnect()


@sync_to_async
def raise_request(owner: User, number: int) -> None:
    from approvals.models import ApprovalRequest

    run = Run.objects.create(started_by=owner, prompt="p", model="m", status="awaiting_approval")
    ApprovalRequest.objects.create(run=run, call_id=f"call_{number}", tool="refund_payment", arguments={},
                                   arguments_digest="0" * 64, decision={"outcome": "requires_approval"})


def _pending_count(frame: str) -> int:
    return int(re.search(r'<span id="pending-count"[^>]*>(\d+)</span>', frame).group(1))


async def test_dashboard_burst_of_nudges_is_sent_in_two_frames_ending_with_the_latest_state(monkeypatch):
    monkeypatch.setattr(DashboardConsumer, "UPDATE_SECONDS", 1.0)
    reviewer = await sync_to_async(make_user)("rita", reviewer=True)
    owner = await sync_to_async(make_user)("owen")
    comm = await communicator(DashboardConsumer, "/ws/dashboard/?show=approvals", reviewer)
    comm.scope["query_string"] = b"show=approvals"
    assert (await comm.connect())[0]
    assert _pending_count(await comm.receive_from()) == 0
    for number in range(1, 11):
        await raise_request(owner, number)
        await get_channel_layer().group_send("dashboard", {"type": "dashboard.changed"})
    frames = [await comm.receive_from(timeout=5)]
    while _pending_count(frames[-1]) != 10:
        frames.append(await comm.receive_from(timeout=5))
    assert len(frames) <= 2
    assert frames[-1].count("review</a>") == 10
    assert await comm.receive_nothing(timeout=1.5)
    await comm.disconnect()
