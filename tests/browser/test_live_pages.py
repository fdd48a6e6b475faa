"""The run page's live updates in a real browser: they stop at logout, and never show the answer twice."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from django.template.loader import render_to_string
from playwright.sync_api import expect

from tests.browser.conftest import login, start_run_in_browser

pytestmark = pytest.mark.browser
RUN_SOCKET = re.compile(r"/ws/runs/")


def pause_for_approval(page, url: str, prompt: str) -> str:
    """Start a refund that needs approval; returns the approval page's path."""
    start_run_in_browser(page, url, prompt, "refund_payment", until="awaiting_approval")
    return page.locator("#timeline a[href^='/approvals/']").first.get_attribute("href")


def approve(browser, url: str, approval: str, run_url: str) -> None:
    """A reviewer approves in their own browser and watches the run complete there."""
    reviewer = login(browser, url, "reviewer", "reviewer-demo")
    reviewer.goto(f"{url}{approval}")
    reviewer.click("#approve")
    expect(reviewer.locator(".messages")).to_contain_text("refund_payment: approved")
    reviewer.goto(run_url)
    expect(reviewer.locator("#run-status .badge").first).to_have_text("completed", timeout=20_000)
    reviewer.context.close()


def test_logging_out_in_another_tab_stops_the_run_page_and_says_so(live_stack, chromium):
    url = live_stack["url"]
    operator = login(chromium, url, "operator", "operator-demo")
    approval = pause_for_approval(operator, url, "Refund order ord_4401 for 250")
    run_url = operator.url
    with operator.expect_websocket(lambda ws: "/ws/runs/" in ws.url) as opened:
        operator.reload()
    socket = opened.value
    socket.wait_for_event("framesent")  # the page's hello: the socket is open
    frames: list[str] = []
    socket.on("framereceived", lambda payload: frames.append(payload))

    other_tab = operator.context.new_page()  # same browser, same session cookie
    other_tab.goto(f"{url}/runs/")
    other_tab.get_by_role("button", name="Log out").click()
    other_tab.wait_for_url(f"{url}/accounts/login/")
    received_before_logout = len(frames)

    approve(chromium, url, approval, run_url)  # the run resumes and completes: events the page must not get

    expect(operator.locator("#ws-error")).to_contain_text(
        "Your session has ended (you logged out, or it expired): this page no longer updates. Log in again")
    login_again = f"/accounts/login/?next={quote(run_url[len(url):], safe='')}"
    expect(operator.locator("#ws-error a")).to_have_attribute("href", login_again)
    expect(operator.locator("#run-status .badge").first).to_have_text("awaiting_approval")
    assert "re_ord_4401" not in operator.locator("#timeline").inner_text()
    assert frames[received_before_logout:] == []
    assert socket.is_closed()
    operator.context.close()


def test_answer_shown_once_when_streamed_text_arrives_after_the_completed_update(live_stack, chromium):
    """Force the order the probe saw: every piece of streamed text is held back until the update that
    says `completed` has been shown, then delivered; and one more piece of the answer after that."""
    url = live_stack["url"]
    operator = login(chromium, url, "operator", "operator-demo")
    approval = pause_for_approval(operator, url, "Refund order ord_7007 for 250")
    run_url = operator.url
    held: list[str] = []
    routes = []

    def reorder(route) -> None:
        server = route.connect_to_server()
        routes.append(route)

        def from_server(message) -> None:
            if isinstance(message, str) and message.startswith('<pre id="streaming-text" hx-swap-oob="beforeend"'):
                held.append(message)
                return
            route.send(message)
            if re.search(r'id="run-status".*?class="badge status-completed"', message, re.S):
                for piece in held:
                    route.send(piece)

        server.on_message(from_server)

    operator.route_web_socket(RUN_SOCKET, reorder)
    operator.reload()
    expect(operator.locator("#run-status .badge").first).to_have_text("awaiting_approval")

    approve(chromium, url, approval, run_url)

    expect(operator.locator("#run-status .badge").first).to_have_text("completed", timeout=20_000)
    answer = operator.locator("#final-text").inner_text()
    assert "ord_7007" in answer
    # The server may already have dropped its own late pieces (it knows what it sent); this one is
    # rendered by the server's template for the answer's text and arrives last, whatever happened.
    item = operator.locator("#timeline > li.event-llm_text_done").last.get_attribute("data-item")
    routes[-1].send(render_to_string("runs/_delta.html", {"text": answer, "item_id": item}))
    operator.wait_for_timeout(500)

    expect(operator.locator("#streaming-text")).to_have_text("")
    shown = operator.locator("#run-status").inner_text() + operator.locator("#streaming-text").inner_text()
    assert shown.count(answer) == 1
    operator.context.close()
