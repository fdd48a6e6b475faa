"""A sticky grant settling the next call without a request: a reviewer approves a refund "for this actor for 30
minutes", the operator's next refund runs with no request raised, and once the grant is revoked in one click the
one after goes to review again."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot, start_run_in_browser

pytestmark = pytest.mark.browser


def test_a_sticky_grant_settles_the_next_call_without_a_request(live_stack, chromium):
    url = live_stack["url"]
    operator = login(chromium, url, "operator", "operator-demo")
    reviewer = login(chromium, url, "reviewer", "reviewer-demo")
    start_run_in_browser(operator, url, "Refund order ord_301 for 250", "refund_payment", until="awaiting_approval")

    reviewer.goto(f"{url}/approvals/")
    reviewer.locator("#approval-rows tr", has_text="refund_payment").get_by_role("link").first.click()
    form = reviewer.locator("#grant-form")
    form.get_by_role("radio", name="operator's runs for a time").check()
    form.get_by_role("spinbutton", name="minutes").fill("30")
    form.locator("#approve-grant").click()
    expect(reviewer.locator(".messages")).to_contain_text("approved, and grant #")
    expect(reviewer.locator(".messages")).to_contain_text("approves it for actor operator until")

    start_run_in_browser(operator, url, "Refund order ord_302 for 260", "refund_payment")  # completes: no review
    expect(operator.locator("#timeline")).to_contain_text("re_ord_302")
    expect(operator.locator("#timeline .grant-settled").first).to_contain_text("settled by grant #")
    expect(operator.locator("#timeline")).to_contain_text("approved by grant #")
    reviewer.goto(f"{url}/approvals/")
    expect(reviewer.locator("#approval-rows")).to_contain_text("Nothing is waiting for review")

    reviewer.goto(f"{url}/approvals/grants/")
    row = reviewer.locator("#grants tbody tr", has_text="refund_payment")
    expect(row).to_contain_text("actor operator")
    expect(row.locator("td").nth(6)).to_have_text("1")  # the one call it settled
    screenshot(reviewer, "grants.png")
    row.get_by_role("button", name="Revoke").click()
    expect(reviewer.locator(".messages")).to_contain_text("Revoked grant #")
    expect(reviewer.locator("#grants")).to_contain_text("No grant is active")

    start_run_in_browser(operator, url, "Refund order ord_303 for 270", "refund_payment", until="awaiting_approval")
