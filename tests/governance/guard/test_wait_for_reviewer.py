"""`wait_for_reviewer`: a script paused for approval waits for the reviewer's decision at the control plane.

The real `bighub` SDK (sync and async) and the real `openai` SDK (through the emulator) against the fake
BIGHUB server, which answers `GET /approvals/{id}?wait=` as the dashboard's API does. A reviewer's click
is `fake.decide(...)`, made from another thread while the script waits.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time

import bighub
import pytest

from governance.guard import AdapterConfigurationError, wait_for_reviewer
from tests.governance.guard.conftest import user
from tests.support import demo_tools
from tests.support.bighub_server import API_KEY

REFUND = user("Refund order ord_123 for 5000")
REFUNDED = {"tool": "refund_payment", "order_id": "ord_123", "amount": 5000.0}
REFUND_OUTPUT = {"ok": True, "order_id": "ord_123", "amount": 5000.0, "refund_id": "re_ord_123"}
REVIEW = {"enforcement_mode": "enforced", "enforced_verdict": "requires_approval", "requires_approval": True,
          "reason": "refunds above 100 need a reviewer"}


class Reviewer(threading.Thread):
    """Decides approval `request_id` `after` seconds once the script's first long poll has reached the server."""

    def __init__(self, fake, status: str, comment: str | None = None, *, after: float = 0.3,
                 request_id: str = "val_1") -> None:
        super().__init__(daemon=True)
        self.fake, self.status, self.comment, self.after, self.request_id = fake, status, comment, after, request_id
        self.decided_at: float | None = None

    def run(self) -> None:
        give_up = time.monotonic() + 20
        while not self.fake.approval_reads(self.request_id) and time.monotonic() < give_up:
            time.sleep(0.01)
        time.sleep(self.after)
        self.decided_at = time.monotonic()
        self.fake.decide(self.request_id, self.status, comment=self.comment)


def timed(callback, returned: list[float]):
    """`callback`, noting when it returned."""

    def wrapper(ctx):
        answer = callback(ctx)
        returned.append(time.monotonic())
        return answer

    return wrapper


async def timed_async(callback, returned: list[float], ctx):
    answer = await callback(ctx)
    returned.append(time.monotonic())
    return answer


@pytest.fixture
def remote_guard(make_guard, fake_bighub, bighub_client):
    fake_bighub.decisions["refund_payment"] = REVIEW
    return make_guard(bighub_client=bighub_client, policies=None, memory_enabled=False)


def told(emulator) -> dict:
    """What the model was told about the last call, as the runner sent it."""
    outputs = [i for i in emulator.requests[-1]["input"] if i.get("type") == "function_call_output"]
    return json.loads(outputs[-1]["output"])


def test_wait_for_reviewer_approved_runs_the_tool_once_within_a_second_of_the_click(remote_guard, fake_bighub,
                                                                                      emulator):
    returned: list[float] = []
    reviewer = Reviewer(fake_bighub, "approved", "ok by rita")
    reviewer.start()
    result = remote_guard.run_with_approval(messages=REFUND, model="gpt-4.1",
                                            on_approval_required=timed(wait_for_reviewer(timeout=30), returned))
    reviewer.join()

    assert returned[0] - reviewer.decided_at < 1.0
    assert fake_bighub.approval_reads("val_1") == [{"wait": ["25"]}]  # one long poll, woken by the click
    assert demo_tools.EXECUTIONS == [REFUNDED]
    assert told(emulator) == {"status": "executed", "output": REFUND_OUTPUT}
    assert result["execution"]["status"] == "completed"
    assert result["output_text"].startswith("refund_payment returned ")
    assert [e["status"] for e in result["execution"]["events"]] == ["approval_required", "executed"]
    assert result["execution"]["last"]["reason"] == (
        "ok by rita (it had paused because refunds above 100 need a reviewer)")
    # The reviewer's decision is not sent back, and the re-check before running raises no second request.
    assert "/approvals/val_1/resolve" not in fake_bighub.paths()
    assert [body.get("dry_run") for body in fake_bighub.bodies("/actions/evaluate")] == [None, True]
    assert list(fake_bighub.approvals) == ["val_1"]


def test_wait_for_reviewer_result_carries_the_published_adapters_approval_loop(remote_guard, fake_bighub):
    Reviewer(fake_bighub, "approved", "ok by rita", after=0).start()
    loop = remote_guard.run_with_approval(messages=REFUND, model="gpt-4.1",
                                          on_approval_required=wait_for_reviewer(timeout=30))["approval_loop"]
    approval = fake_bighub.approvals["val_1"]
    assert {key: loop[key] for key in ("required", "resolved", "resumed", "request_id", "approval", "tool_output")} == {
        "required": True, "resolved": True, "resumed": True, "request_id": "val_1", "approval": approval,
        "tool_output": REFUND_OUTPUT,
    }
    assert approval["status"] == "approved"
    assert (loop["rounds"], loop["status"], loop["pending"]) == (1, "completed", [])
    assert (loop["resolutions"][0]["resolution"], loop["resolutions"][0]["comment"]) == ("approved", "ok by rita")
    assert "backend" not in loop["resolutions"][0]


async def test_wait_for_reviewer_async_returns_within_a_second_and_keeps_the_event_loop_free(
        make_async_guard, fake_bighub, emulator):
    fake_bighub.decisions["refund_payment"] = REVIEW
    client = bighub.AsyncBighubClient(api_key=API_KEY, base_url=fake_bighub.base_url, max_retries=0, timeout=5)
    guard = make_async_guard(bighub_client=client, policies=None, memory_enabled=False)
    ticks: list[float] = []

    async def heartbeat():
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.05)

    beating = asyncio.create_task(heartbeat())
    returned: list[float] = []
    waiter = wait_for_reviewer(timeout=30)
    reviewer = Reviewer(fake_bighub, "approved", "ok by rita", after=1.5)
    reviewer.start()
    result = await guard.run_with_approval(messages=REFUND, model="gpt-4.1",
                                           on_approval_required=lambda ctx: timed_async(waiter, returned, ctx))
    beating.cancel()
    await client.close()
    reviewer.join()

    assert returned[0] - reviewer.decided_at < 1.0
    assert fake_bighub.approval_reads("val_1") == [{"wait": ["25"]}]
    # A blocked loop would show one gap of the whole 1.5 s wait; a free one ticks every 50 ms throughout.
    assert max(later - earlier for earlier, later in itertools.pairwise(ticks)) < 1.0
    assert demo_tools.EXECUTIONS == [REFUNDED]
    assert told(emulator)["status"] == "executed"
    assert result["execution"]["status"] == "completed"
    assert "/approvals/val_1/resolve" not in fake_bighub.paths()


@pytest.mark.parametrize("status", ["rejected", "denied"])  # the SDK's resolve word, and the dashboard's
def test_wait_for_reviewer_denied_tells_the_model_why(remote_guard, fake_bighub, emulator, status):
    Reviewer(fake_bighub, status, "customer not eligible").start()
    result = remote_guard.run_with_approval(messages=REFUND, model="gpt-4.1",
                                            on_approval_required=wait_for_reviewer(timeout=30))
    assert demo_tools.EXECUTIONS == []
    assert told(emulator) == {"status": "denied", "reason": "customer not eligible"}
    assert result["execution"]["last"]["status"] == "denied"
    assert result["output_text"] == (
        "refund_payment (order_id=ord_123, amount=5000) was not done: it was denied (customer not eligible).")
    assert {key: result["approval_loop"][key] for key in ("required", "resolved", "resumed")} == {
        "required": True, "resolved": True, "resumed": False}
    assert result["approval_loop"]["approval"]["status"] == status
    assert "tool_output" not in result["approval_loop"]
    assert "/approvals/val_1/resolve" not in fake_bighub.paths()


def test_wait_for_reviewer_denied_without_comment_says_a_reviewer_denied_it(remote_guard, fake_bighub, emulator):
    Reviewer(fake_bighub, "rejected").start()
    remote_guard.run_with_approval(messages=REFUND, model="gpt-4.1", on_approval_required=wait_for_reviewer(timeout=30))
    assert told(emulator) == {"status": "denied", "reason": "denied by a reviewer"}


def test_wait_for_reviewer_expired_request_tells_the_model_it_expired(remote_guard, fake_bighub, emulator):
    Reviewer(fake_bighub, "expired").start()
    result = remote_guard.run_with_approval(messages=REFUND, model="gpt-4.1",
                                            on_approval_required=wait_for_reviewer(timeout=30))
    assert demo_tools.EXECUTIONS == []
    assert told(emulator) == {"status": "denied", "reason": "the approval request expired before a reviewer decided"}
    assert result["execution"]["last"]["status"] == "expired"
    assert result["execution"]["status"] == "completed"


def test_wait_for_reviewer_gives_up_after_its_timeout(remote_guard, fake_bighub, emulator):
    started = time.monotonic()
    result = remote_guard.run_with_approval(messages=REFUND, model="gpt-4.1",
                                            on_approval_required=wait_for_reviewer(timeout=2, poll_seconds=1))
    waited = time.monotonic() - started
    assert 2.0 <= waited < 4.0
    assert fake_bighub.approval_reads("val_1") == [{"wait": ["1"]}, {"wait": ["1"]}]
    assert demo_tools.EXECUTIONS == []
    assert told(emulator) == {"status": "denied", "reason": "no reviewer decided within 2 s"}
    assert result["execution"]["last"]["status"] == "expired"
    assert result["approval_loop"]["approval"]["status"] == "pending"  # still waiting in the dashboard


def test_wait_for_reviewer_rides_out_the_control_plane_going_down(make_guard, fake_bighub):
    fake_bighub.decisions["refund_payment"] = REVIEW
    # The SDK retries a cut connection itself (the re-check and the outcome report use it after the restart).
    client = bighub.BighubClient(api_key=API_KEY, base_url=fake_bighub.base_url, max_retries=2, timeout=5)
    guard = make_guard(bighub_client=client, policies=None, memory_enabled=False)
    waiter = wait_for_reviewer(timeout=30, retry_backoff_seconds=0.1, retry_max_backoff_seconds=0.2)
    waited: list[float] = []

    def down_then_up(ctx):
        fake_bighub.server.stop()
        fake_bighub.decide("val_1", "approved", comment="approved while the dashboard restarted")
        comes_back = threading.Timer(1.0, fake_bighub.server.start)
        comes_back.start()
        started = time.monotonic()
        answer = waiter(ctx)
        waited.append(time.monotonic() - started)
        comes_back.join()
        return answer

    result = guard.run_with_approval(messages=REFUND, model="gpt-4.1", on_approval_required=down_then_up)
    client.close()
    assert 1.0 <= waited[0] < 2.0  # retried every 0.1-0.2 s while down, answered once back
    assert fake_bighub.approval_reads("val_1") == [{"wait": ["25"]}]
    assert demo_tools.EXECUTIONS == [REFUNDED]
    assert result["execution"]["status"] == "completed"


def test_wait_for_reviewer_gives_up_when_the_control_plane_stays_down(remote_guard, fake_bighub, emulator):
    def down(ctx):
        fake_bighub.server.stop()
        return wait_for_reviewer(timeout=1, retry_backoff_seconds=0.1, retry_max_backoff_seconds=0.2)(ctx)

    started = time.monotonic()
    result = remote_guard.run_with_approval(messages=REFUND, model="gpt-4.1", on_approval_required=down)
    assert time.monotonic() - started < 3.0
    reason = told(emulator)["reason"]
    assert reason.startswith("no decision could be read from the control plane within 1 s (last error: could not "
                             "reach the control plane for approval request val_1 (ConnectError: ")
    assert demo_tools.EXECUTIONS == []
    assert result["execution"]["last"]["status"] == "expired"


def test_wait_for_reviewer_stops_at_once_when_the_control_plane_refuses(remote_guard, fake_bighub, emulator):
    def forgotten(ctx):
        fake_bighub.approvals.clear()  # the dashboard no longer knows the request: 404
        return wait_for_reviewer(timeout=30)(ctx)

    remote_guard.run_with_approval(messages=REFUND, model="gpt-4.1", on_approval_required=forgotten)
    assert fake_bighub.approval_reads("val_1") == [{"wait": ["25"]}]
    assert told(emulator) == {"status": "denied", "reason": (
        "could not learn the reviewer's decision: the control plane answered 404 for approval request val_1: "
        "approval request val_1 not found")}
    assert demo_tools.EXECUTIONS == []


def test_wait_for_reviewer_retries_a_server_error_then_reads_the_decision(remote_guard, fake_bighub):
    fake_bighub.fail["/approvals/val_1"] = 503

    def recover_after_two_failures():
        # The waiter asks one read at a time, so once a third read has arrived the first two have
        # been answered 503. (Waiting for two reads raced: the second could be answered after the
        # failure was cleared, and then only one 503 had been retried.)
        while len(fake_bighub.approval_reads("val_1")) < 3:
            time.sleep(0.01)
        fake_bighub.fail.clear()
        fake_bighub.decide("val_1", "approved")

    recovery = threading.Thread(target=recover_after_two_failures, daemon=True)
    recovery.start()
    result = remote_guard.run_with_approval(
        messages=REFUND, model="gpt-4.1",
        on_approval_required=wait_for_reviewer(timeout=30, retry_backoff_seconds=0.1, retry_max_backoff_seconds=0.2))
    recovery.join()
    assert len(fake_bighub.approval_reads("val_1")) >= 3  # two 503s at least, then the answer
    assert demo_tools.EXECUTIONS == [REFUNDED]
    assert result["execution"]["status"] == "completed"


def test_wait_for_reviewer_context_carries_the_dashboards_ids(make_guard, fake_bighub, bighub_client):
    # The dashboard answers the approval's id as request_id (and approval_id), the decision's as validation_id.
    fake_bighub.decisions["refund_payment"] = {**REVIEW, "validation_id": "dec_7",
                                               "approval_url": "http://127.0.0.1:8000/approvals/7/"}
    seen = []
    waiter = wait_for_reviewer(timeout=30)
    Reviewer(fake_bighub, "approved", after=0).start()
    guard = make_guard(bighub_client=bighub_client, policies=None, memory_enabled=False)
    result = guard.run_with_approval(messages=REFUND, model="gpt-4.1",
                                     on_approval_required=lambda ctx: seen.append(ctx) or waiter(ctx))
    assert (seen[0]["approval_id"], seen[0]["request_id"], seen[0]["approval_url"]) == (
        "val_1", "dec_7", "http://127.0.0.1:8000/approvals/7/")
    assert seen[0]["backend"] is guard.backend
    assert result["approval_loop"]["request_id"] == "val_1"
    assert fake_bighub.approval_reads("val_1") == [{"wait": ["25"]}]


def test_wait_for_reviewer_needs_a_bighub_control_plane(make_guard):
    with pytest.raises(AdapterConfigurationError) as refused:
        make_guard().run_with_approval(messages=REFUND, model="gpt-4.1", on_approval_required=wait_for_reviewer())
    assert str(refused.value) == (
        "wait_for_reviewer waits for a reviewer at a BIGHUB control plane, but this guard decides with 'embedded': "
        "give it bighub_client=BighubClient(base_url=..., api_key=...)")
    assert demo_tools.EXECUTIONS == []


@pytest.mark.parametrize(("options", "message"), [
    ({"timeout": 0}, "wait_for_reviewer timeout must be positive seconds, got 0"),
    ({"poll_seconds": 0.5}, "wait_for_reviewer poll_seconds must be whole seconds from 1 to 300, got 0.5"),
    ({"retry_backoff_seconds": 3, "retry_max_backoff_seconds": 1},
     "wait_for_reviewer needs 0 < retry_backoff_seconds <= retry_max_backoff_seconds, got 3 and 1"),
])
def test_wait_for_reviewer_refuses_bad_settings(options, message):
    with pytest.raises(AdapterConfigurationError) as refused:
        wait_for_reviewer(**options)
    assert str(refused.value) == message
