"""Edit, then approve, in the browser: a reviewer lowers a refund, the policy refuses an edit that would be
blocked, and the run finishes with the edited call while its operator watches."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser


def test_edit_then_approve(live_stack, chromium):
    url = live_stack["url"]
    operator = login(chromium, url, "operator", "operator-demo")
    operator.goto(f"{url}/runs/new/")
    operator.fill("textarea[name=prompt]", "Refund order ord_321 for 480")
    operator.check("input[name=tools][value=refund_payment]")
    operator.click("#start-run")
    operator.wait_for_url(f"{url}/runs/*/")
    status = operator.locator("#run-status .badge").first
    expect(status).to_have_text("awaiting_approval", timeout=20_000)

    reviewer = login(chromium, url, "reviewer", "reviewer-demo")
    reviewer.goto(f"{url}/approvals/")
    reviewer.locator("#approval-rows tr", has_text="ord_321").get_by_role("link").first.click()
    reviewer.click("#edit")
    amount = reviewer.get_by_label("amount")
    expect(amount).to_have_value("480")
    expect(reviewer.get_by_label("order_id")).to_have_value("ord_321")

    amount.fill("80")
    reviewer.fill("textarea[name=comment]", "partial refund agreed by phone")
    screenshot(reviewer, "approval-edit.png")

    # An edit the policy would block is refused with its reason, and the form keeps what was typed.
    amount.fill("25000")
    reviewer.click("#approve-edited")
    expect(reviewer.locator(".messages")).to_contain_text(
        "The policy blocks the edited call, so it was not approved: refund_payment is blocked")
    expect(reviewer.get_by_label("amount")).to_have_value("25000")
    expect(reviewer.locator("textarea[name=comment]")).to_have_value("partial refund agreed by phone")

    reviewer.get_by_label("amount").fill("80")
    reviewer.click("#approve-edited")
    expect(reviewer.locator(".messages")).to_contain_text(
        "refund_payment: approved with your edit (amount: 480 -> 80).")
    expect(reviewer.locator("#edited-arguments")).to_contain_text('"amount": 80')

    # The operator's page was never reloaded: the edited call ran, and the run finished.
    expect(status).to_have_text("completed", timeout=20_000)
    expect(operator.locator("#timeline")).to_contain_text("re_ord_321")
    expect(operator.locator("#timeline")).to_contain_text('"amount": 80')
