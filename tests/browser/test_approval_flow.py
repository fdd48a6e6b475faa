"""A reviewer approves a risky call in the browser and the operator sees the run finish, live."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot, start_run_in_browser

pytestmark = pytest.mark.browser


def test_approval_flow_live_without_reloading(live_stack, chromium):
    url = live_stack["url"]
    reviewer = login(chromium, url, "reviewer", "reviewer-demo")
    reviewer.goto(f"{url}/approvals/")
    expect(reviewer.locator("#approval-rows")).to_contain_text("Nothing is waiting for review")

    operator = login(chromium, url, "operator", "operator-demo")
    operator.goto(f"{url}/runs/new/")
    operator.fill("textarea[name=prompt]", "Refund order ord_123 for 250")
    operator.check("input[name=tools][value=refund_payment]")
    operator.click("#start-run")
    operator.wait_for_url(f"{url}/runs/*/")
    status = operator.locator("#run-status .badge").first
    expect(status).to_have_text("awaiting_approval", timeout=20_000)

    # The queue page was loaded before the run existed: the request must arrive over the websocket.
    row = reviewer.locator("#approval-rows tr", has_text="refund_payment")
    expect(row).to_be_visible(timeout=20_000)
    expect(reviewer.locator("#pending-count")).to_have_text("1")

    row.get_by_role("link").first.click()
    expect(reviewer.locator("pre").first).to_contain_text("ord_123")
    reviewer.fill("textarea[name=comment]", "checked with the customer")
    reviewer.click("#approve")
    expect(reviewer.locator(".messages")).to_contain_text("refund_payment: approved")

    # The operator's page was never reloaded: status and output arrive live.
    expect(status).to_have_text("completed", timeout=20_000)
    expect(operator.locator("#timeline")).to_contain_text("re_ord_123")
    expect(operator.locator("#timeline")).to_contain_text("approved by reviewer: checked with the customer")
    screenshot(operator, "run-page.png")


def test_untrusted_model_output_is_shown_as_text(live_stack, chromium):
    url = live_stack["url"]
    operator = login(chromium, url, "operator", "operator-demo")
    start_run_in_browser(operator, url, 'Look up order <img src=x onerror="document.title=1">', "lookup_order")
    expect(operator.locator("#run-status")).to_contain_text('<img src=x onerror="document.title=1">')
    assert operator.locator("#run-status img").count() == 0
    assert operator.title() != "1"
