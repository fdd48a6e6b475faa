"""A remote agent's paused call decided in the browser: the agent's script, waiting on the approval with the
`bighub` SDK, goes on within a second of the reviewer's click, and the session's run page shows it live."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from playwright.sync_api import expect

from config.embedded import ROOT
from tests.agents.support import LongPoll, client_for
from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser

ACTOR, DOMAIN = "AI_AGENT_001", "customer_transactions"


def create_agent_key(stack) -> str:
    """`manage.py create_agent_key` against the stack's database, as its README shows; the secret is the last line."""
    env = {**os.environ, "GOVERNANCE_VAR_DIR": str(stack["var_dir"]), "GOVERNANCE_PROFILE": "embedded",
           "DJANGO_SETTINGS_MODULE": "config.settings", "CACHE_BACKEND": "locmem"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "manage.py", "create_agent_key", "--name", "billing-agent", "--actor",
                           ACTOR, "--domain", DOMAIN], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1]


def test_a_reviewers_click_releases_the_waiting_agent_within_a_second(live_stack, chromium):
    url = live_stack["url"]
    secret = create_agent_key(live_stack)
    reviewer = login(chromium, url, "reviewer", "reviewer-demo")
    reviewer.goto(f"{url}/approvals/")
    expect(reviewer.locator("#approval-rows")).to_contain_text("Nothing is waiting for review")

    agent = client_for(live_stack, secret)
    answer = agent.actions.evaluate(action="refund_payment", value=250, actor=ACTOR, domain=DOMAIN,
                                    context={"session_id": "ticket-4711",
                                             "arguments": {"order_id": "ord_123", "amount": 250}})
    request_id = answer["request_id"]
    assert (answer["result"], answer["approval_url"]) == ("requires_approval", f"{url}/approvals/{request_id}/")
    run_id = agent._transport.request(method="GET", path=f"/approvals/{request_id}")["run_id"]
    agent.close()

    # The queue page was open before the call: the request arrives over its websocket, marked remote.
    row = reviewer.locator("#approval-rows tr", has_text="refund_payment")
    expect(row).to_contain_text("remote billing-agent", timeout=20_000)
    expect(reviewer.locator("#pending-count")).to_have_text("1")

    watcher = login(chromium, url, "admin", "admin-demo")
    watcher.goto(f"{url}/runs/{run_id}/")
    expect(watcher.locator("#run-status .badge").first).to_have_text("awaiting_approval")

    poll = LongPoll(live_stack, secret, request_id, wait=20)
    poll.start()
    row.get_by_role("link").first.click()
    expect(reviewer.locator("pre").first).to_contain_text("ord_123")
    time.sleep(0.5)
    assert poll.is_alive()  # still waiting for the reviewer
    reviewer.fill("textarea[name=comment]", "checked with the customer")
    clicked_at = time.monotonic()
    reviewer.click("#approve")
    item = poll.result()
    print(f"the waiting script went on {(poll.answered_at - clicked_at) * 1000:.0f} ms after the click")
    assert poll.answered_at - clicked_at < 1.0
    assert (item["status"], item["outcome"], item["comment"]) == (
        "approved", "approved by reviewer", "checked with the customer")

    # The session's page, never reloaded, shows the approval and runs again.
    expect(watcher.locator("#timeline")).to_contain_text("approved by reviewer: checked with the customer")
    expect(watcher.locator("#run-status .badge").first).to_have_text("running")
    screenshot(watcher, "remote-session.png")
