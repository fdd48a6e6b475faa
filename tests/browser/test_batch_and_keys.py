"""The reviewer at scale in a real browser: twenty requests approved in one batch (and their runs
resume), and approve and deny done with the keyboard alone (static/js/review-keys.js)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser


def _start_runs(page, url: str, prompts: list[str]) -> None:
    """Start one refund run per prompt through the start form's own POST (as its button would)."""
    page.goto(f"{url}/runs/new/")
    token = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    model = page.locator("[name=model]").input_value()
    for prompt in prompts:
        response = page.request.post(f"{url}/runs/new/", form={
            "csrfmiddlewaretoken": token, "prompt": prompt, "model": model, "tools": "refund_payment"})
        assert response.ok, response.status


def test_batch_approval_of_20(live_stack, chromium):
    url = live_stack["url"]
    operator = login(chromium, url, "operator", "operator-demo")
    _start_runs(operator, url, [f"Refund order ord_77{n:02d} for 250" for n in range(20)])

    reviewer = login(chromium, url, "reviewer", "reviewer-demo")
    reviewer.goto(f"{url}/approvals/?requester=operator")
    expect(reviewer.locator("#approval-rows tr[data-approval]")).to_have_count(20, timeout=90_000)
    reviewer.get_by_label(re.compile(r"Select all 20 requests matching the filters")).check()
    expect(reviewer.locator("#selected-count")).to_have_text("20")
    expect(reviewer.locator("#approval-rows input[name=approval]:checked")).to_have_count(20)
    reviewer.fill("#batch-form textarea[name=comment]", "end-of-day refunds, checked")
    screenshot(reviewer, "approvals-queue.png")
    reviewer.click("#batch-approve")

    expect(reviewer.locator("#batch-result h2")).to_have_text("Batch approval: 20 succeeded")
    expect(reviewer.locator("#batch-succeeded li")).to_have_count(20)
    expect(reviewer.locator("#batch-failed")).to_have_count(0)
    expect(reviewer.locator("#approval-rows")).to_contain_text("Nothing is waiting for review")

    # Every run resumes and runs its refund once (the runs list updates live).
    operator.goto(f"{url}/runs/")
    rows = operator.locator("#run-rows tbody tr", has_text="ord_77")
    expect(rows).to_have_count(20)
    expect(rows.locator(".badge").first).to_have_text("completed", timeout=60_000)
    expect(rows.locator(".badge")).to_have_text(["completed"] * 20, timeout=60_000)
    operator.goto(f"{url}/runs/")
    operator.locator("#run-rows tbody tr", has_text="ord_7713").get_by_role("link").first.click()
    expect(operator.locator("#timeline")).to_contain_text("re_ord_7713")
    expect(operator.locator("#timeline")).to_contain_text("approved by reviewer: end-of-day refunds, checked")


def test_keyboard_only_approve_and_deny(live_stack, chromium):
    url = live_stack["url"]
    operator = login(chromium, url, "operator", "operator-demo")
    _start_runs(operator, url, ["Refund order ord_7801 for 250", "Refund order ord_7802 for 250"])

    reviewer = login(chromium, url, "reviewer", "reviewer-demo")
    reviewer.goto(f"{url}/approvals/?requester=operator")
    rows = reviewer.locator("#approval-rows tr[data-approval]")
    expect(rows).to_have_count(2, timeout=60_000)
    keys = reviewer.keyboard

    keys.press("?")
    expect(reviewer.locator("#keys-help")).to_be_visible()
    expect(reviewer.locator("#keys-help")).to_contain_text("approve the selected requests")
    keys.press("Escape")
    expect(reviewer.locator("#keys-help")).to_be_hidden()

    # j focuses the first request, k stays there, j moves on: the focus is visible (an outline).
    keys.press("j")
    keys.press("k")
    keys.press("j")
    second = rows.nth(1)
    expect(second).to_be_focused()
    expect(second).to_have_css("outline-style", "solid")
    approved = second.get_attribute("data-approval")
    keys.press("a")  # nothing selected: the request in focus
    expect(reviewer.locator("#batch-result h2")).to_have_text("Batch approval: 1 succeeded")
    expect(rows).to_have_count(1)

    # The other one: open it with Enter, deny with d; the prompt refuses an empty reason.
    denied = rows.first.get_attribute("data-approval")
    keys.press("j")
    keys.press("Enter")
    reviewer.wait_for_url(f"{url}/approvals/{denied}/")
    keys.press("x")  # no selection on this page: nothing happens
    keys.press("d")
    expect(reviewer.locator("#deny-prompt")).to_be_visible()
    expect(reviewer.locator("#deny-prompt-reason")).to_be_focused()
    keys.press("Tab")
    expect(reviewer.locator("#deny-prompt-text")).to_be_focused()
    keys.press("Tab")
    keys.press("Enter")
    expect(reviewer.locator("#deny-prompt-error")).to_be_visible()
    expect(reviewer.locator("#deny-prompt-text")).to_be_focused()
    keys.type("already refunded by phone")  # typing: no shortcut fires (it contains a, d, e and j)
    expect(reviewer.locator("#deny-prompt-text")).to_have_value("already refunded by phone")
    keys.press("Tab")
    keys.press("Enter")
    expect(reviewer.locator(".messages")).to_contain_text("refund_payment: denied")

    operator.goto(f"{url}/approvals/{approved}/")
    expect(operator.locator("#approval-outcome")).to_contain_text("Approved by reviewer")
    operator.goto(f"{url}/approvals/{denied}/")
    expect(operator.locator("#approval-outcome")).to_contain_text("Denied by reviewer")
    expect(operator.locator("#approval-outcome")).to_contain_text("already refunded by phone")


def test_deny_clicked_without_a_reason_asks_for_one(live_stack, chromium):
    url = live_stack["url"]
    operator = login(chromium, url, "operator", "operator-demo")
    _start_runs(operator, url, ["Refund order ord_7901 for 250"])
    reviewer = login(chromium, url, "reviewer", "reviewer-demo")
    reviewer.goto(f"{url}/approvals/?requester=operator")
    row = reviewer.locator("#approval-rows tr[data-approval]")
    expect(row).to_have_count(1, timeout=60_000)
    request = row.get_by_role("link").first.get_attribute("href")
    row.get_by_role("link").first.click()
    reviewer.click("#deny")
    expect(reviewer.locator("#deny-prompt")).to_be_visible()
    reviewer.select_option("#deny-prompt-reason", index=1)
    preset = reviewer.locator("#deny-prompt-reason option").nth(1).inner_text()
    reviewer.click("#deny-prompt-submit")
    expect(reviewer.locator(".messages")).to_contain_text("refund_payment: denied")
    reviewer.goto(f"{url}/approvals/?requester=operator")
    expect(reviewer.locator("#approval-rows")).to_contain_text("Nothing is waiting for review")
    operator.goto(f"{url}{request}")
    expect(operator.locator("#approval-outcome")).to_contain_text(preset)
