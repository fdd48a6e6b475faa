"""Redis and the ASGI server restart while a reviewer and an operator have pages open, in a real
Chromium against the production topology: the pages reconnect by themselves and catch up, and the
approval made afterwards is not lost."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import chromium, login  # noqa: F401 - chromium is a fixture used here
from tests.production.helpers import start_run, wait_for

pytestmark = pytest.mark.production


@pytest.mark.parametrize("asgi", ["uvicorn", "daphne"])
def test_pages_reconnect_and_catch_up_after_redis_and_web_restart(make_stack, chromium, asgi):  # noqa: F811
    stack = make_stack(workers=1, asgi=asgi)
    operator_http = stack.login("operator", "operator-demo")
    first_run = start_run(stack, operator_http, "Refund order ord_801 for 250", ["refund_payment"])
    wait_for(lambda: stack.sql("SELECT 1 FROM approvals_approvalrequest WHERE run_id = %s", [first_run]), 30,
             "the first approval request")

    reviewer = login(chromium, stack.url, "reviewer", "reviewer-demo")
    reviewer.goto(f"{stack.url}/approvals/")
    expect(reviewer.locator("#approval-rows")).to_contain_text("ord_801")
    operator = login(chromium, stack.url, "operator", "operator-demo")
    operator.goto(f"{stack.url}/runs/{first_run}/")
    expect(operator.locator("#run-status .badge").first).to_have_text("awaiting_approval")
    for page in (reviewer, operator):
        page.evaluate("window.__sameDocument = true")

    stack.restart_redis()
    stack.restart_web()

    # A request raised after the restarts reaches the queue page that was open all along.
    second_run = start_run(stack, operator_http, "Refund order ord_802 for 300", ["refund_payment"])
    expect(reviewer.locator("#approval-rows")).to_contain_text("ord_802", timeout=45_000)
    expect(reviewer.locator("#pending-count")).to_have_text("2")

    # The reviewer approves the first request; the operator's page, open since before the
    # restarts, shows the run finish.
    reviewer.goto(f"{stack.url}/approvals/")
    reviewer.locator("#approval-rows tr", has_text="ord_801").get_by_role("link").first.click()
    reviewer.click("#approve")
    expect(reviewer.locator(".messages")).to_contain_text("refund_payment: approved")
    expect(operator.locator("#run-status .badge").first).to_have_text("completed", timeout=45_000)
    expect(operator.locator("#timeline")).to_contain_text("re_ord_801")
    assert operator.evaluate("window.__sameDocument") is True  # caught up without a reload

    assert stack.sql("SELECT status FROM approvals_approvalrequest WHERE run_id = %s", [first_run]) == [("approved",)]
    assert stack.sql("SELECT count(*) FROM runs_toolexecution WHERE run_id = %s", [first_run]) == [(1,)]
    assert stack.sql("SELECT status FROM runs_run WHERE id = %s", [second_run]) == [("awaiting_approval",)]
