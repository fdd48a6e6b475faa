"""Replay before saving, in a real browser: after two lookups are decided, an admin edits the demo policy so
lookups are forbidden, clicks “Replay this draft”, watches the progress bar, then reads what would change
(with a link to a run) while the form still holds the edit, and nothing was saved."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot, start_run_in_browser

pytestmark = pytest.mark.browser

LOOKUPS_FORBIDDEN = """\
@id("no-lookups")
@reason("lookups are paused while orders are migrated")
forbid(principal, action == Action::"lookup_order", resource);

@id("no-deletes")
forbid(principal, action == Action::"delete_customer", resource);"""


def test_an_admin_replays_an_edited_policy_and_sees_the_calls_it_would_change(live_stack, chromium):
    url = live_stack["url"]
    operator = login(chromium, url, "operator", "operator-demo")
    start_run_in_browser(operator, url, "Look up order ord_4242", "lookup_order")
    start_run_in_browser(operator, url, "Look up order ord_4243", "lookup_order")

    admin = login(chromium, url, "admin", "admin-demo")
    admin.goto(f"{url}/admin/governance/policy/")
    admin.get_by_role("link", name="demo", exact=True).click()
    admin.fill("textarea[name=cedar]", LOOKUPS_FORBIDDEN)
    admin.fill("input[name=replay_days]", "7")
    admin.press("input[name=replay_days]", "Enter")  # Enter in the days field replays; it never saves

    panel = admin.locator("#replay-panel")
    expect(admin.locator("#replay-progress")).to_be_visible()  # the page as it comes back: the job is queued
    expect(panel).to_have_attribute("data-status", "done", timeout=20_000)  # polled until it finished
    expect(admin.locator("#replay-progress")).to_have_count(0)
    expect(admin.locator("#replay-changed")).to_have_text("2")
    expect(admin.locator("#replay-transitions tbody td")).to_have_text(["allowed", "blocked", "2"])
    expect(admin.locator("#replay-groups tbody td")).to_have_text(["lookup_order", "dashboard", "allowed → blocked",
                                                                   "2"])
    expect(admin.locator("#replay-example-failures")).to_contain_text("lookups are allowed")
    expect(admin.locator("textarea[name=cedar]")).to_have_value(LOOKUPS_FORBIDDEN)  # the edit is still there
    expect(admin.locator("input[name=replay_days]")).to_have_value("7")
    screenshot(admin, "replay-result.png")

    replay_page = admin.locator("#replay-link").get_attribute("href")
    admin.locator("#replay-examples a").first.click()
    admin.wait_for_url(f"{url}/runs/*/")
    expect(admin.locator("#timeline")).to_contain_text("lookup_order")

    admin.goto(f"{url}{replay_page}")  # the replay reopens on its own page
    expect(admin.locator("#replay-changed")).to_have_text("2")
    admin.goto(f"{url}/admin/governance/policy/")
    admin.get_by_role("link", name="demo", exact=True).click()
    expect(admin.locator("textarea[name=cedar]")).not_to_have_value(LOOKUPS_FORBIDDEN)  # nothing was saved
