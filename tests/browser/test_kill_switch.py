"""The kill switch in a real browser: a reviewer pauses a tool from a run's page while the run is in flight,
and the run's next call of that tool (the approved refund, re-checked before it runs) is blocked."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, start_run_in_browser

pytestmark = pytest.mark.browser


def test_a_reviewer_pauses_a_tool_from_the_run_page_and_the_runs_next_call_of_it_is_blocked(live_stack, chromium):
    url = live_stack["url"]
    operator = login(chromium, url, "operator", "operator-demo")
    start_run_in_browser(operator, url, "Refund order ord_9090 for 250", "refund_payment", until="awaiting_approval")
    run_url = operator.url
    approval = operator.locator("#timeline a[href^='/approvals/']").first.get_attribute("href")

    reviewer = login(chromium, url, "reviewer", "reviewer-demo")
    reviewer.goto(run_url)
    reviewer.click("#kill-switch [data-pause='tool:refund_payment']")
    reviewer.wait_for_url(run_url)
    banner = reviewer.locator("#pauses")
    expect(banner).to_contain_text(re.compile(r"tool refund_payment paused by reviewer at \d{4}-\d\d-\d\d "))

    reviewer.goto(f"{url}{approval}")  # the request waiting before the pause is still pending
    reviewer.click("#approve")
    expect(reviewer.locator(".messages")).to_contain_text("refund_payment: approved")

    # The operator's page, never reloaded: the run goes on, and the refund is blocked by the pause.
    expect(operator.locator("#run-status .badge").first).to_have_text("completed · 1 blocked", timeout=20_000)
    expect(operator.locator("#timeline")).to_contain_text(
        "approved, but no longer allowed when re-checked before running: tool refund_payment paused by reviewer at")
    assert "re_ord_9090" not in operator.locator("#timeline").inner_text()

    reviewer.goto(run_url)
    reviewer.get_by_role("button", name="Resume tool refund_payment").click()
    reviewer.wait_for_url(run_url)
    expect(reviewer.locator(".messages")).to_contain_text("Resumed tool refund_payment")
    expect(reviewer.locator("#pauses")).to_have_count(0)
