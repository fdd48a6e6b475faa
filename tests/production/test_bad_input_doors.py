"""Bad input at the doors of the running production topology (uvicorn, Celery, PostgreSQL, Redis):
each gets a clear error and changes nothing. The same doors are tested in depth in-process
(tests/runs/test_bad_input.py, tests/approvals/test_bad_input.py and the app tests); these prove
the deployed shape behaves the same."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import websockets

from tests.production.helpers import start_run, wait_for

pytestmark = pytest.mark.production

COUNTS = ("SELECT (SELECT count(*) FROM runs_run), (SELECT count(*) FROM runs_runevent), "
          "(SELECT count(*) FROM approvals_approvalrequest WHERE status <> 'pending'), "
          "(SELECT count(*) FROM audit_auditrecord)")


def test_bad_input_changes_nothing(make_stack):
    stack = make_stack(workers=1)
    operator, reviewer = stack.login("operator", "operator-demo"), stack.login("reviewer", "reviewer-demo")
    run_id = start_run(stack, operator, "Refund order ord_31 for 250", ["refund_payment"])
    (approval_id,) = wait_for(lambda: stack.sql("SELECT id FROM approvals_approvalrequest"), 30, "a request")[0]
    wait_for(lambda: stack.sql("SELECT 1 FROM runs_run WHERE status = 'awaiting_approval'"), 30, "the pause")
    before = stack.sql(COUNTS)
    token = stack.csrf(operator, "/runs/new/")

    # Forged CSRF: no token, a wrong token, a token from another session.
    for data in ({}, {"csrfmiddlewaretoken": "x" * 64}, {"csrfmiddlewaretoken": stack.csrf(reviewer, "/runs/new/")}):
        response = operator.post("/runs/new/", data={"prompt": "Look up ord_1", "model": "gpt-4.1",
                                                     "tools": ["lookup_order"], **data})
        assert response.status_code == 403 and "CSRF" in response.text
    forged_approval = reviewer.post(f"/approvals/{approval_id}/", data={"resolution": "approved"})
    assert forged_approval.status_code == 403

    # Malformed form posts and an oversized prompt.
    bad_posts = [
        {"prompt": "", "model": "gpt-4.1", "tools": ["lookup_order"]},
        {"prompt": "Look up ord_1", "model": "gpt 4.1 with spaces", "tools": ["lookup_order"]},
        {"prompt": "Look up ord_1", "model": "gpt-4.1", "tools": ["format_disk"]},
        {"prompt": "x" * 20_001, "model": "gpt-4.1", "tools": ["lookup_order"]},
    ]
    for data in bad_posts:
        response = operator.post("/runs/new/", data={**data, "csrfmiddlewaretoken": token})
        assert response.status_code == 400, (data, response.status_code)
        assert 'class="errorlist' in response.text or "error" in response.text
    page_token = stack.csrf(reviewer, f"/approvals/{approval_id}/")
    bad_resolution = reviewer.post(f"/approvals/{approval_id}/", data={"resolution": "maybe",
                                                                       "csrfmiddlewaretoken": page_token})
    assert bad_resolution.status_code == 400

    # An approval id that does not exist, and one the operator may not resolve (their own run).
    assert reviewer.post("/approvals/999999/", data={"resolution": "approved", "csrfmiddlewaretoken": page_token}
                         ).status_code == 404
    own = operator.post(f"/approvals/{approval_id}/", data={"resolution": "approved",
                                                            "csrfmiddlewaretoken": stack.csrf(operator, "/runs/new/")})
    assert own.status_code in (403, 404)

    # Websocket messages that are not what the page sends, through the ASGI server: an error frame each,
    # and the socket stays usable.
    async def talk() -> list[str]:
        cookie = "; ".join(f"{k}={v}" for k, v in operator.cookies.items())
        url = stack.url.replace("http://", "ws://") + f"/ws/runs/{run_id}/"
        async with websockets.connect(url, additional_headers={"Cookie": cookie, "Origin": stack.url}) as ws:
            replies = []
            for message in ("not json", "[1, 2]", '{"type": "drop tables"}', '{"type": "hello", "after": "x"}',
                            '{"type": "hello", "after": 0, "pad": "' + "y" * 5000 + '"}'):
                await ws.send(message)
                replies.append(await asyncio.wait_for(ws.recv(), 10))
            await ws.send('{"type": "hello", "after": 0}')
            replies.append(await asyncio.wait_for(ws.recv(), 10))
            return replies

    replies = asyncio.run(talk())
    assert all("ws-error" in r for r in replies[:5]), replies[:5]
    assert "messages must be JSON" in replies[0] and "4096 bytes" in replies[4]
    assert 'id="event-1"' in replies[5]  # still answering the page's real message

    # A websocket from another site (no matching Origin) is refused.
    with pytest.raises(websockets.exceptions.InvalidStatus):
        asyncio.run(_connect_from(stack, operator, "http://evil.example"))

    assert stack.sql(COUNTS) == before
    assert stack.sql("SELECT status FROM approvals_approvalrequest") == [("pending",)]
    assert httpx.get(f"{stack.url}/runs/", follow_redirects=False).status_code == 302  # anonymous: to login


async def _connect_from(stack, client, origin: str) -> None:
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    async with websockets.connect(stack.url.replace("http://", "ws://") + "/ws/dashboard/",
                                  additional_headers={"Cookie": cookie, "Origin": origin}):
        pass
