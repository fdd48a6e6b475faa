"""Remote approvals end to end: the published `bighub` SDK (sync and async) against the real ASGI server
(uvicorn) on loopback, and reviewers deciding in the dashboard.

An agent's requires_approval call raises a request that waits in the reviewers' queue; the agent
long-polls it (`GET /approvals/{id}?wait=S`, through the SDK's own transport) and is released as soon as
a reviewer approves or denies in the dashboard, or it expires, or someone cancels the session.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta
from pathlib import Path

import bighub
import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from approvals.models import ApprovalRequest
from approvals.services import expire_overdue, resolve_approval
from runs.models import Run, RunStatus
from tests.agents.support import LongPoll, client_for
from tests.factories import make_agent_key, make_user

pytestmark = pytest.mark.django_db(transaction=True)

ACTOR, DOMAIN = "AI_AGENT_001", "customer_transactions"
REFUND = {"action": "refund_payment", "value": 250, "actor": ACTOR, "domain": DOMAIN}


def waiting(server, secret: str, request_id: str, wait: float = 10) -> LongPoll:
    """A long-poll under way: started, and still waiting a second later."""
    poll = LongPoll(server, secret, request_id, wait)
    poll.start()
    time.sleep(1.0)
    assert poll.is_alive(), poll.answer or poll.error
    return poll


def review(client, reviewer, request_id: str, resolution: str, comment: str = "") -> float:
    """The reviewer's click in the dashboard; returns when it was sent (monotonic time), so that what is
    measured from it includes the click's own handling."""
    client.force_login(reviewer)
    clicked_at = time.monotonic()
    response = client.post(f"/approvals/{request_id}/", {"resolution": resolution, "comment": comment})
    assert response.status_code == 302, response.content.decode()
    return clicked_at


def test_sdk_long_poll_is_released_within_a_second_of_the_reviewers_approval(api_server, sdk, secret, client,
                                                                             reviewer):
    answer = sdk.actions.evaluate(**REFUND, context={"session_id": "ticket-1"})
    request_id = answer["request_id"]
    assert (answer["result"], answer["approval_id"], answer["approval_url"]) == (
        "requires_approval", request_id, f"{api_server['url']}/approvals/{request_id}/")

    client.force_login(reviewer)
    queue = client.get("/approvals/").content.decode()
    assert re.search(r'id="pending-count"[^>]*>1<', queue)
    row = re.search(rf'#{request_id} review.*?</tr>', queue, re.S).group(0)
    assert ('<span class="badge remote">remote</span> billing-agent' in row, "refund_payment" in row) == (True, True)
    assert [item["request_id"] for item in sdk.approvals.list()] == [request_id]

    poll = waiting(api_server, secret, request_id)
    clicked_at = review(client, reviewer, request_id, "approved", "checked with the customer")
    item = poll.result()
    latency = poll.answered_at - clicked_at
    print(f"long-poll released {latency * 1000:.0f} ms after the reviewer's click")
    assert latency < 1.0
    assert (item["status"], item["resolved_by"], item["comment"], item["outcome"]) == (
        "approved", "rita", "checked with the customer", "approved by rita")
    run = Run.objects.get()
    assert (run.status, run.origin, run.session) == (RunStatus.RUNNING, "remote", "ticket-1")
    assert list(run.events.values_list("type", flat=True)) == [
        "status", "remote_decision", "status", "approval_resolved", "status"]


def test_sdk_long_poll_wakes_on_the_channel_layers_message(api_server_on_redis, redis_url, channel_layer_on,
                                                           secret, client, reviewer):
    """The server looks at the database only every 5 s here: a release within 1 s is the Redis message."""
    channel_layer_on(redis_url)  # the reviewer's click publishes through Redis, as a web process does
    sdk = client_for(api_server_on_redis, secret)
    request_id = sdk.actions.evaluate(**REFUND)["request_id"]
    sdk.close()
    poll = waiting(api_server_on_redis, secret, request_id, wait=15)
    clicked_at = review(client, reviewer, request_id, "denied", "not without a receipt")
    item = poll.result()
    print(f"long-poll released {(poll.answered_at - clicked_at) * 1000:.0f} ms after the reviewer's click (Redis)")
    assert poll.answered_at - clicked_at < 1.0
    assert (item["status"], item["outcome"], item["comment"]) == ("denied", "denied by rita", "not without a receipt")


def test_sdk_long_poll_answers_pending_when_nobody_decides_in_time(api_server, sdk, secret):
    request_id = sdk.actions.evaluate(**REFUND)["request_id"]
    started = time.monotonic()
    item = sdk._transport.request(method="GET", path=f"/approvals/{request_id}", params={"wait": 1.5})
    assert 1.5 <= time.monotonic() - started < 2.5
    assert (item["status"], item["resolution"], item["resolved_by"]) == ("pending", None, None)


def test_waiting_long_polls_hold_no_thread_of_the_server(api_server, sdk, secret):
    request_id = sdk.actions.evaluate(**REFUND)["request_id"]
    threads = Path(f"/proc/{api_server['pid']}/task")
    before = len(list(threads.iterdir()))
    polls = [LongPoll(api_server, secret, request_id, wait=3) for _ in range(20)]
    for poll in polls:
        poll.start()
    time.sleep(1.5)
    during = len(list(threads.iterdir()))
    answers = [poll.result()["status"] for poll in polls]
    assert answers == ["pending"] * 20
    assert during - before <= 2, (before, during)  # at most the look's worker thread, whatever the number of waits


def test_sdk_long_poll_of_an_expired_request_says_so(api_server, sdk, secret):
    request_id = sdk.actions.evaluate(**REFUND, context={"session_id": "s-exp"})["request_id"]
    poll = waiting(api_server, secret, request_id)
    ApprovalRequest.objects.filter(pk=request_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert expire_overdue() == 1  # what beat runs
    expired_at = time.monotonic()
    item = poll.result()
    assert poll.answered_at - expired_at < 1.0
    assert (item["status"], item["outcome"]) == ("expired", "expired")
    assert Run.objects.get().status == RunStatus.RUNNING  # no call of the session waits any more


def test_a_cancelled_session_denies_its_waiting_call_and_blocks_the_next(api_server, sdk, secret, client, reviewer):
    request_id = sdk.actions.evaluate(**REFUND, context={"session_id": "s-cancel"})["request_id"]
    poll = waiting(api_server, secret, request_id)
    run = Run.objects.get()
    client.force_login(reviewer)
    assert client.post(f"/runs/{run.pk}/cancel/", {"confirm": "yes"}).status_code == 302
    cancelled_at = time.monotonic()
    item = poll.result()
    assert poll.answered_at - cancelled_at < 1.0
    assert (item["status"], item["outcome"]) == ("denied", "denied because rita cancelled the run")
    later = sdk.actions.evaluate(action="lookup_order", actor=ACTOR, domain=DOMAIN, context={"session_id": "s-cancel"})
    assert (later["result"], later["reason"]) == ("blocked", "session cancelled by rita")
    other = sdk.actions.evaluate(action="lookup_order", actor=ACTOR, domain=DOMAIN, context={"session_id": "s-other"})
    assert other["result"] == "allowed"


def test_sdk_resolve_is_refused_to_an_agent_key_and_changes_nothing(sdk):
    request_id = sdk.actions.evaluate(**REFUND)["request_id"]
    with pytest.raises(bighub.BighubAuthError, match="approvals are decided by reviewers in the dashboard"):
        sdk.approvals.resolve(request_id, resolution="approved")
    assert ApprovalRequest.objects.get().status == "pending"


def test_sdk_approver_key_resolves_as_its_user_once(api_server, sdk):
    request_id = sdk.actions.evaluate(**REFUND)["request_id"]
    approver = client_for(api_server, make_agent_key("ops-bot", role="approver",
                                                     user=make_user("alice", reviewer=True))[1])
    first = approver.approvals.resolve(request_id, resolution="approved", comment="fine")
    again = approver.approvals.resolve(request_id, resolution="approved")
    with pytest.raises(bighub.BighubAPIError) as conflict:
        approver.approvals.resolve(request_id, resolution="rejected")
    approver.close()
    assert (first["status"], first["resolved_by"], first["comment"]) == ("approved", "alice", "fine")
    assert again == first
    assert (conflict.value.status_code, conflict.value.detail) == (
        409, f"Already approved by alice at {timezone.localtime(ApprovalRequest.objects.get().resolved_at):%H:%M:%S}; "
             "nothing was changed.")


def test_a_key_for_another_actor_cannot_read_or_resolve_the_request(api_server, sdk):
    request_id = sdk.actions.evaluate(**REFUND)["request_id"]
    other_agent = client_for(api_server, make_agent_key("other", actor="AI_AGENT_002")[1])
    other_approver = client_for(api_server, make_agent_key("other-ops", actor="AI_AGENT_002", role="approver",
                                                           user=make_user("alice", reviewer=True))[1])
    with pytest.raises(bighub.BighubAPIError) as read:
        other_agent._transport.request(method="GET", path=f"/approvals/{request_id}")
    with pytest.raises(bighub.BighubAPIError) as resolved:
        other_approver.approvals.resolve(request_id, resolution="approved")
    listed = other_agent.approvals.list(status_filter="all"), other_approver.approvals.list(status_filter="all")
    other_agent.close()
    other_approver.close()
    assert (read.value.status_code, resolved.value.status_code) == (404, 404)
    assert listed == ([], [])
    assert ApprovalRequest.objects.get().status == "pending"


async def test_async_sdk_waits_for_the_reviewer_and_lists_what_was_decided(api_server, secret, reviewer):
    client = bighub.AsyncBighubClient(base_url=f"{api_server['url']}/bighub", api_key=secret, max_retries=0,
                                      timeout=20)
    answer = await client.actions.evaluate(**REFUND, context={"trajectory_id": "traj-9",
                                                              "arguments": {"order_id": "ord_9", "amount": 250}})
    request_id = answer["request_id"]

    def approve_soon():
        time.sleep(1.0)
        resolve_approval(approval_id=int(request_id), reviewer=reviewer, resolution="approved")

    clicking = threading.Thread(target=approve_soon)
    clicking.start()
    started = time.monotonic()
    item = await client._transport.request(method="GET", path=f"/approvals/{request_id}", params={"wait": 10})
    waited = time.monotonic() - started
    clicking.join()
    approved = await client.approvals.list(status_filter="approved")
    pending = await client.approvals.list()
    await client.close()
    assert 1.0 <= waited < 2.0
    assert (item["status"], item["arguments"], item["session"]) == ("approved", {"order_id": "ord_9", "amount": 250},
                                                                   "traj-9")
    assert ([a["request_id"] for a in approved], pending) == ([request_id], [])
    run = await sync_to_async(Run.objects.get)()
    assert (run.session, run.status) == ("traj-9", RunStatus.RUNNING)
