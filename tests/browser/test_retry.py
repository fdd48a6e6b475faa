"""An operator retries a run that failed while its page was open, in a real browser.

The stack here allows one tool round (GOVERNANCE_MAX_TOOL_ROUNDS=1): a refund above 100 pauses for
approval and, once approved and run, the run fails for want of a second round. So it fails after
the operator's page loaded: the Retry button arrives with the live update (no reload), and clicking
it (an HTMX post with the page's CSRF header) opens the new run, which starts over and asks again.
"""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from config.embedded import free_port
from devtools.embedded import launch, shut_down, wait_until_serving
from tests.browser.conftest import login, start_run_in_browser

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def failing_stack(tmp_path_factory):
    port, var_dir = free_port(), tmp_path_factory.mktemp("embedded-var-retry")
    log = open(var_dir / "stack.log", "w")  # noqa: SIM115 - closed after the stack stops
    saved = os.environ.get("GOVERNANCE_MAX_TOOL_ROUNDS")
    os.environ["GOVERNANCE_MAX_TOOL_ROUNDS"] = "1"
    try:
        proc = launch(port=port, var_dir=var_dir, log=log)
    finally:
        if saved is None:
            del os.environ["GOVERNANCE_MAX_TOOL_ROUNDS"]
        else:
            os.environ["GOVERNANCE_MAX_TOOL_ROUNDS"] = saved
    url = f"http://127.0.0.1:{port}"
    if not wait_until_serving(f"{url}/accounts/login/", proc):
        shut_down(proc)
        log.close()
        pytest.fail(f"the embedded stack did not come up:\n{(var_dir / 'stack.log').read_text()[-3000:]}")
    yield url
    shut_down(proc)
    log.close()


def test_retry_button_arrives_live_and_opens_the_new_run(failing_stack, chromium):
    url = failing_stack
    operator = login(chromium, url, "operator", "operator-demo")
    start_run_in_browser(operator, url, "Refund order ord_4242 for 250", "refund_payment", until="awaiting_approval")
    failed_url = operator.url
    assert operator.locator("#retry-run").count() == 0
    approval = operator.locator("#timeline a[href^='/approvals/']").first.get_attribute("href")

    reviewer = login(chromium, url, "reviewer", "reviewer-demo")
    reviewer.goto(f"{url}{approval}")
    reviewer.click("#approve")
    expect(reviewer.locator(".messages")).to_contain_text("refund_payment: approved")

    expect(operator.locator("#run-status .badge").first).to_have_text("failed", timeout=20_000)
    expect(operator.locator("#run-status .error")).to_contain_text("stopped after 1 tool rounds")
    retry = operator.locator("#retry-run")
    expect(retry).to_be_visible()
    # rendered by the live update, which has no request and so no token field: HTMX sends the header
    assert operator.locator("#run-status input[name=csrfmiddlewaretoken]").count() == 0
    retry.click()

    expect(operator.locator(".messages")).to_contain_text("This is a new run retrying run", timeout=10_000)
    assert operator.url != failed_url
    short = failed_url.rstrip("/").rsplit("/", 1)[-1][:8]
    expect(operator.locator("#timeline")).to_contain_text(f"retry of run {short} by operator")
    expect(operator.locator("#run-status .badge").first).to_have_text("awaiting_approval", timeout=20_000)

    operator.goto(failed_url)
    expect(operator.locator("#run-status")).to_contain_text("Retried as run")
    assert operator.locator("#retry-run").count() == 0
