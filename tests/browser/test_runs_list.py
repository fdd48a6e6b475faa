"""The runs list in a real browser: a run whose call was refused does not look like a success, and the
list filtered by what happened to the calls stays filtered as live updates arrive."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, start_run_in_browser

pytestmark = pytest.mark.browser
AMBER = "rgb(253, 241, 216)"  # the badge of a run still under way (app.css), never the green of a clean run


def _row(page, prompt: str):
    return page.locator("#run-rows tbody tr", has_text=prompt)


def test_filtered_runs_list_stays_filtered_on_live_updates(live_stack, chromium):
    url = live_stack["url"]
    operator = login(chromium, url, "operator", "operator-demo")
    start_run_in_browser(operator, url, "Delete customer cus_4601", "delete_customer", until="completed · 1 blocked")
    badge = operator.locator("#run-status .badge").first
    assert badge.evaluate("e => getComputedStyle(e).backgroundColor") == AMBER
    start_run_in_browser(operator, url, "Look up order ord_4601", "lookup_order", until="completed")

    with operator.expect_websocket(lambda ws: "/ws/dashboard/" in ws.url) as opened:
        operator.goto(f"{url}/runs/")
    unfiltered_socket = opened.value
    expect(_row(operator, "Look up order ord_4601").locator(".badge")).to_have_text("completed")
    expect(_row(operator, "Delete customer cus_4601").locator(".badge")).to_have_text("completed · 1 blocked")
    with operator.expect_websocket(lambda ws: "/ws/dashboard/" in ws.url and "outcome=blocked" in ws.url) as opened:
        operator.get_by_label("Calls").select_option("blocked")
    filtered_socket = opened.value
    if not unfiltered_socket.is_closed():
        unfiltered_socket.wait_for_event("close")  # swapped out with the list: it must not re-render it unfiltered
    expect(operator).to_have_url(f"{url}/runs/?outcome=blocked")
    expect(_row(operator, "Look up order ord_4601")).to_have_count(0)
    expect(_row(operator, "Delete customer cus_4601")).to_have_count(1)

    # Runs started elsewhere arrive over the filtered socket: the refused one is listed, the clean one not.
    other_tab = operator.context.new_page()
    start_run_in_browser(other_tab, url, "Look up order ord_4602", "lookup_order", until="completed")
    start_run_in_browser(other_tab, url, "Delete customer cus_4602", "delete_customer", until="completed · 1 blocked")
    expect(_row(operator, "Delete customer cus_4602")).to_have_count(1, timeout=20_000)
    expect(_row(operator, "Look up order ord_4602")).to_have_count(0)
    expect(_row(operator, "Look up order ord_4601")).to_have_count(0)
    assert not filtered_socket.is_closed()
    # The list is updated at most every 0.25 s (runs/consumers.py): it may still show the run's state
    # of a moment ago (running · 1 blocked) when the other tab shows it completed.
    badges = operator.locator("#run-rows .badge")
    expect(badges).to_have_text(["completed · 1 blocked"] * badges.count())
    operator.context.close()


def _no_sideways_scroll(page) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths[0]}px of content in {widths[1]}px"


def test_runs_list_on_a_phone_has_stacked_rows_search_and_no_sideways_scroll(live_stack, chromium):
    url = live_stack["url"]
    operator = login(chromium, url, "operator", "operator-demo")
    long_word = "ord_4701_" + "x" * 70  # an unbroken word must wrap, not widen the page
    start_run_in_browser(operator, url, f"Look up order {long_word}", "lookup_order", until="completed")
    start_run_in_browser(operator, url, "Look up order ord_4702", "lookup_order", until="completed")
    operator.set_viewport_size({"width": 390, "height": 844})
    operator.goto(f"{url}/runs/")
    row = _row(operator, "ord_4701_")
    expect(row).to_have_count(1)
    _no_sideways_scroll(operator)
    assert row.locator("td").first.evaluate("e => getComputedStyle(e).display") == "block"  # stacked, not a table row
    expect(operator.locator("#run-total")).to_contain_text("runs")

    operator.get_by_label("Prompt contains").fill("ord_4702")
    operator.get_by_role("button", name="Filter").click()
    expect(operator).to_have_url(f"{url}/runs/?q=ord_4702")
    expect(_row(operator, "ord_4702")).to_have_count(1)
    expect(_row(operator, "ord_4701_")).to_have_count(0)
    expect(operator.locator("#run-total")).to_have_text("1 run matches")
    _no_sideways_scroll(operator)

    operator.goto(f"{url}/runs/?since=not-a-date")
    expect(operator.locator("#run-rows [role=alert]")).to_have_text("since: Enter a date as YYYY-MM-DD.")
    _no_sideways_scroll(operator)
    operator.context.close()
