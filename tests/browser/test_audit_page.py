"""A reviewer searches the audit history in the browser: results follow the filters without a
reload, and the address bar holds a URL that reopens the same view."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot, start_run_in_browser

pytestmark = pytest.mark.browser


def test_audit_filters_update_live_with_a_shareable_url(live_stack, chromium):
    url = live_stack["url"]
    operator = login(chromium, url, "operator", "operator-demo")
    start_run_in_browser(operator, url, "Look up order ord_5150", "lookup_order")

    reviewer = login(chromium, url, "reviewer", "reviewer-demo")
    reviewer.goto(f"{url}/audit/")
    reviewer.evaluate("window.__sameDocument = true")
    reviewer.fill("input[name=q]", "ord_5150")
    rows = reviewer.locator("#audit-results tbody tr")
    expect(rows.first).to_contain_text("lookup_order", timeout=10_000)
    expect(rows).to_have_count(1)
    expect(reviewer).to_have_url(f"{url}/audit/?q=ord_5150", timeout=5_000)

    reviewer.select_option("select[name=decision]", "blocked")
    expect(reviewer.locator("#audit-results")).to_contain_text("No audit records match", timeout=10_000)
    assert reviewer.evaluate("window.__sameDocument") is True  # updated in place, never reloaded

    shared = login(chromium, url, "reviewer", "reviewer-demo")
    shared.goto(f"{url}/audit/?q=ord_5150")
    expect(shared.locator("#audit-results tbody tr")).to_have_count(1)
    expect(shared.locator("input[name=q]")).to_have_value("ord_5150")
    screenshot(shared, "audit-history.png")
    shared.locator("#audit-results a", has_text="run").first.click()
    expect(shared.locator("#audit-trail")).to_contain_text("lookup_order")
