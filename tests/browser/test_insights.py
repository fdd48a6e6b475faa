"""A reviewer reads /insights/ in the browser after a few real runs: figures drawn, a filter applied, a bar
followed to its audit records, and no sideways scroll on a 390 px phone."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot, start_run_in_browser

pytestmark = pytest.mark.browser


def _decide(reviewer, url: str, *, deny: bool) -> None:
    reviewer.goto(f"{url}/approvals/")
    reviewer.locator("#approval-rows tr", has_text="refund_payment").first.get_by_role("link").first.click()
    if deny:
        reviewer.select_option("select[name=deny_reason]", label="Amount looks wrong")
        reviewer.click("#deny")
        expect(reviewer.locator(".messages")).to_contain_text("refund_payment: denied")
    else:
        reviewer.click("#approve")
        expect(reviewer.locator(".messages")).to_contain_text("refund_payment: approved")


def _open_until(page, address: str, *texts: str, within: float = 20.0) -> None:
    """Reload `address` until its HTML holds every one of `texts`: the audit sealer adds each record within about
    a second, and a run resumes after its request is decided."""
    deadline = time.monotonic() + within
    while True:
        page.goto(address)
        html = page.content()
        if all(text in html for text in texts) or time.monotonic() > deadline:
            break
        page.wait_for_timeout(300)
    assert all(text in html for text in texts), f"{address} never showed {texts}"


def test_insights_show_the_figures_filter_and_link_to_the_audit(live_stack, chromium):
    url = live_stack["url"]
    operator = login(chromium, url, "operator", "operator-demo")
    start_run_in_browser(operator, url, "Look up order ord_1", "lookup_order")
    start_run_in_browser(operator, url, "Delete customer cus_9", "delete_customer", until="completed · 1 blocked")
    for n in (1, 2):
        start_run_in_browser(operator, url, f"Refund order ord_{n} for 250", "refund_payment",
                             until="awaiting_approval")
    reviewer = login(chromium, url, "reviewer", "reviewer-demo")
    _decide(reviewer, url, deny=False)
    _decide(reviewer, url, deny=True)

    # The approved refund has run (its record is its call's outcome, not a second decision).
    _open_until(reviewer, f"{url}/audit/?tool=refund_payment&kind=execution", 'class="badge status-allowed"')
    _open_until(reviewer, f"{url}/insights/", "Amount looks wrong (1)", "2 resolved</a>",
                "Decisions per day by outcome, 4 in all: 1 allowed, 2 requires approval, 1 blocked")
    expect(reviewer.locator("#by-tool svg")).to_have_attribute("aria-label", "Approval requests by tool, 2 in all")
    expect(reviewer.locator("#reviewers tbody tr")).to_have_count(1)
    expect(reviewer.locator("#reviewers tbody")).to_contain_text("reviewer")
    expect(reviewer.locator("#expiry-rate")).to_contain_text("0 expired")
    screenshot(reviewer, "insights.png")

    reviewer.fill("input[name=tool]", "refund_payment")
    reviewer.click("#insight-filters button[type=submit]")
    reviewer.wait_for_url("**/insights/?tool=refund_payment*")
    expect(reviewer.locator("#insight-scope")).to_contain_text("tool refund_payment")
    per_day = reviewer.locator("#per-day svg")
    expect(per_day).to_have_attribute(  # each refund once, whatever its reviewer made of it; the lookup is gone
        "aria-label", "Decisions per day by outcome, 2 in all: 2 requires approval")

    reviewer.set_viewport_size({"width": 390, "height": 844})
    widths = reviewer.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"/insights/ scrolls sideways at 390 px: {widths}"

    per_day.get_by_role("link", name=re.compile("2 requires approval")).click()  # the day's requests, in the audit
    reviewer.wait_for_url("**/audit/?**decision=requires_approval**")
    rows = reviewer.locator("#audit-results tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("refund_payment")
