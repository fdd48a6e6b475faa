"""The approval page a reviewer needs, in a real browser: its context, live while another reviewer decides,
the queue's tab title count, and a phone's width."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot, start_run_in_browser

pytestmark = pytest.mark.browser


def request_of_a_new_run(operator, url: str, prompt: str) -> str:
    """Start a run the operator's way and return the path of its approval request's page."""
    start_run_in_browser(operator, url, prompt, "refund_payment", until="awaiting_approval")
    return operator.locator("#timeline a[href^='/approvals/']").first.get_attribute("href")


def test_the_live_approval_page(live_stack, chromium):
    url = live_stack["url"]
    operator = login(chromium, url, "operator", "operator-demo")
    reviewer_a = login(chromium, url, "reviewer", "reviewer-demo")
    reviewer_b = login(chromium, url, "admin", "admin-demo")  # a second browser context

    # An earlier request for the same order, which reviewer B denied.
    earlier = request_of_a_new_run(operator, url, "Refund order ord_4242 for 250")
    reviewer_b.goto(f"{url}{earlier}")
    reviewer_b.fill("textarea[name=comment]", "refunded by card already")
    reviewer_b.click("#deny")
    expect(reviewer_b.locator(".messages")).to_contain_text("refund_payment: denied.")

    # The request to decide: a run with other calls, for the same order.
    operator.goto(f"{url}/runs/new/")
    operator.fill("textarea[name=prompt]", "Look up ord_4242 and refund ord_4242 for 250 and delete customer cus_9")
    for tool in ("lookup_order", "refund_payment", "delete_customer"):
        operator.check(f"input[name=tools][value={tool}]")
    operator.click("#start-run")
    operator.wait_for_url(f"{url}/runs/*/")
    expect(operator.locator("#run-status .badge").first).to_have_text(re.compile("awaiting_approval"),
                                                                      timeout=20_000)
    request = operator.locator("#timeline a[href^='/approvals/']").first.get_attribute("href")

    reviewer_a.goto(f"{url}{request}")
    expect(reviewer_a.locator("#run-prompt")).to_contain_text("Look up ord_4242 and refund ord_4242 for 250")
    expect(reviewer_a.locator("#started-by")).to_contain_text("Started by operator")
    expect(reviewer_a.locator("#other-calls")).to_contain_text("lookup_order")
    expect(reviewer_a.locator("#other-calls")).to_contain_text("delete_customer")
    expect(reviewer_a.locator("#earlier-requests")).to_contain_text("denied by admin: refunded by card already")
    expect(reviewer_a.locator("#approval-reason")).to_contain_text("requires approval")
    expect(reviewer_a.locator("#approval-state time[data-countdown]")).to_contain_text(re.compile(r"expires in \d+ h"))
    expect(reviewer_a.get_by_role("button", name=re.compile("^Approve request"))).to_be_visible()
    screenshot(reviewer_a, "approval-context.png")

    # Reviewer B approves in the other browser context; A's page, never reloaded, says so and loses its buttons.
    reviewer_b.goto(f"{url}{request}")
    reviewer_b.click("#approve")
    expect(reviewer_b.locator(".messages")).to_contain_text("Nothing else is waiting for your decision.")
    assert reviewer_b.url == f"{url}/approvals/"

    expect(reviewer_a.locator("#approval-outcome")).to_contain_text("Approved by admin", timeout=10_000)
    expect(reviewer_a.locator("#approve")).to_have_count(0)
    expect(reviewer_a.locator("#deny")).to_have_count(0)
    expect(reviewer_a.locator("#approval-actions")).to_contain_text("Back to the queue")
    # Then the run resumes: the call is re-checked and runs, and A's page shows that too.
    expect(reviewer_a.locator("#call-outcome")).to_have_text("The call ran.", timeout=20_000)
    expect(reviewer_a.locator("#approval-state")).to_contain_text("re_ord_4242")


def test_the_queue_tab_title_counts_pending_requests_live(live_stack, chromium):
    url = live_stack["url"]
    reviewer = login(chromium, url, "reviewer", "reviewer-demo")
    reviewer.goto(f"{url}/approvals/")
    before = int(reviewer.locator("#pending-count").inner_text())
    expect(reviewer).to_have_title(f"({before}) Approvals · Governance dashboard" if before
                                   else "Approvals · Governance dashboard")

    operator = login(chromium, url, "operator", "operator-demo")
    request_of_a_new_run(operator, url, "Refund order ord_5151 for 250")

    # The queue page was not reloaded: the title, the count and the polite announcement follow.
    expect(reviewer).to_have_title(f"({before + 1}) Approvals · Governance dashboard", timeout=20_000)
    expect(reviewer.locator("#queue-announce")).to_contain_text(f"{before + 1} request")
    expect(reviewer.locator("#queue-announce")).to_have_attribute("aria-live", "polite")


def test_no_sideways_scrolling_at_phone_width(live_stack, chromium):
    url = live_stack["url"]
    operator = login(chromium, url, "operator", "operator-demo")
    request = request_of_a_new_run(operator, url, "Refund order ord_6161 for 250")
    run_page = operator.url
    reviewer = login(chromium, url, "reviewer", "reviewer-demo")
    reviewer.set_viewport_size({"width": 390, "height": 844})

    for path in ("/approvals/", request, run_page.removeprefix(url)):
        reviewer.goto(f"{url}{path}")
        widths = reviewer.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], f"{path} scrolls sideways at 390 px: {widths}"
