"""`agents.approval_wait.ApprovalLongPolls`, the ASGI door of the approvals long-poll, with a stand-in for Django:
what it passes through untouched, what it answers at once, and a client that hangs up while it waits.
(The waits that end in a resolution run against the real server in test_remote_approvals_sdk.py.)"""

from __future__ import annotations

import asyncio
import json

import pytest

from agents import approval_wait
from agents.approval_wait import ApprovalLongPolls

PENDING = {"request_id": "7", "status": "pending", "approval_url": "http://testserver/approvals/7/"}


class Django:
    """Answers every request with `status` and `body`, and remembers the scopes it was given."""

    def __init__(self, status: int = 200, body: dict | None = None) -> None:
        self.status, self.body, self.scopes = status, body or PENDING, []

    async def __call__(self, scope, receive, send) -> None:
        self.scopes.append(scope)
        data = json.dumps(self.body).encode()
        await send({"type": "http.response.start", "status": self.status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})


def http(path: str, query: str = "", method: str = "GET") -> dict:
    return {"type": "http", "method": method, "path": path, "query_string": query.encode()}


async def call(app, scope, *, hang_up_after: float | None = None) -> list[dict]:
    sent: list[dict] = []

    async def receive():
        if hang_up_after is None:
            await asyncio.sleep(3600)
        await asyncio.sleep(hang_up_after)
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    return sent


@pytest.mark.parametrize(("path", "query", "method"), [
    ("/bighub/approvals/7", "", "GET"),                  # no wait
    ("/bighub/approvals/7", "wait=0", "GET"),
    ("/bighub/approvals/7", "wait=-1", "GET"),           # the endpoint refuses these (422) itself
    ("/bighub/approvals/7", "wait=soon", "GET"),
    ("/bighub/approvals/7", "wait=nan", "GET"),
    ("/bighub/approvals/7", "wait=1&wait=2", "GET"),
    ("/bighub/approvals", "wait=5", "GET"),              # another endpoint
    ("/bighub/approvals/7/resolve", "wait=5", "POST"),
])
async def test_requests_that_do_not_wait_reach_django_as_sent(path, query, method):
    django = Django()
    sent = await call(ApprovalLongPolls(django), http(path, query, method))
    assert [s["query_string"] for s in django.scopes] == [query.encode()]
    assert json.loads(sent[1]["body"]) == PENDING


@pytest.mark.parametrize(("status", "body"), [(200, {**PENDING, "status": "approved"}), (404, {"detail": "not found"}),
                                              (401, {"detail": "invalid API key"})])
async def test_an_answer_that_is_not_a_pending_request_is_sent_at_once(status, body):
    django = Django(status, body)
    sent = await asyncio.wait_for(call(ApprovalLongPolls(django), http("/bighub/approvals/7", "wait=30")), 2)
    assert [s["query_string"] for s in django.scopes] == [b"wait=0"]  # Django answered without waiting
    assert (sent[0]["status"], json.loads(sent[1]["body"])) == (status, body)


async def test_a_client_that_hangs_up_while_waiting_gets_nothing_and_leaves_no_wait_behind(settings, monkeypatch):
    settings.GOVERNANCE_APPROVAL_WAIT_RECHECK_SECONDS = 60  # nothing looks at the database in this test
    looks = []
    monkeypatch.setattr(approval_wait._Waiters, "_look", lambda self, ids: looks.append(ids) or asyncio.sleep(0))
    app = ApprovalLongPolls(Django())
    sent = await asyncio.wait_for(call(app, http("/bighub/approvals/7", "wait=30&x=1"), hang_up_after=0.2), 2)
    assert sent == []
    assert approval_wait._waiters().futures == {}
    assert looks == [[7]]  # once, as the wait began


async def test_a_wait_longer_than_the_maximum_is_cut_to_it(settings, monkeypatch):
    settings.GOVERNANCE_API_MAX_WAIT_SECONDS = 0.3
    monkeypatch.setattr(approval_wait._Waiters, "_look", lambda self, ids: asyncio.sleep(0))
    loop = asyncio.get_running_loop()
    started = loop.time()
    sent = await asyncio.wait_for(call(ApprovalLongPolls(Django()), http("/bighub/approvals/7", "wait=999")), 3)
    assert 0.3 <= loop.time() - started < 1.0
    assert json.loads(sent[1]["body"]) == PENDING
    assert dict(sent[0]["headers"])[b"content-length"] == str(len(sent[1]["body"])).encode()
