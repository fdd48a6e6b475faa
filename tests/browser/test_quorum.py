"""A 2-of-3 quorum with two browsers clicking at once: one reviewer approved earlier, two more click
Approve at the same moment; the request is approved once, the other is told so, and the tool runs once."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from config.embedded import ROOT
from tests.browser.conftest import login, screenshot, start_run_in_browser

pytestmark = pytest.mark.browser

SETUP = """
from django.conf import settings
from django.contrib.auth.models import Group, User
from governance.models import ToolRegistration
rob = User.objects.create_user("rob", password="rob-reviews-42")
rob.groups.add(Group.objects.get(name=settings.REVIEWERS_GROUP))
assert ToolRegistration.objects.filter(name="refund_payment").update(approvals_needed=2) == 1
"""
EXECUTIONS = """
from runs.models import ToolExecution
print(ToolExecution.objects.filter(run__prompt__contains="ord_77", tool="refund_payment").count())
"""


def manage_shell(stack, code: str) -> str:
    """`manage.py shell -c CODE` against the stack's database (the environment devtools.embedded.launch
    gives the stack); returns the last line it printed (the shell first says what it imported)."""
    env = {**os.environ, "GOVERNANCE_VAR_DIR": str(stack["var_dir"]), "GOVERNANCE_PROFILE": "embedded",
           "DJANGO_SETTINGS_MODULE": "config.settings", "CACHE_BACKEND": "locmem"}
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def test_a_2_of_3_quorum_with_two_browsers_clicking_at_once(live_stack, chromium):
    url = live_stack["url"]
    manage_shell(live_stack, SETUP)
    operator = login(chromium, url, "operator", "operator-demo")
    start_run_in_browser(operator, url, "Refund order ord_77 for 250", "refund_payment", until="awaiting_approval")
    run_url = operator.url

    first = login(chromium, url, "reviewer", "reviewer-demo")
    first.goto(f"{url}/approvals/")
    first.locator("#approval-rows tr", has_text="refund_payment").get_by_role("link").first.click()
    approval_url = first.url
    expect(first.locator("#quorum-progress")).to_have_text("0 of 2 approvals")
    first.fill("textarea[name=comment]", "amount matches the order")
    first.click("#approve")
    counted = "refund_payment: your approval is counted (1 of 2 approvals: reviewer); it waits for another reviewer."
    expect(first.locator(".messages li").first).to_have_text(counted)
    first.goto(approval_url)  # the page sent the reviewer on to the next request (here: the queue)
    expect(first.locator("#quorum-progress")).to_have_text("1 of 2 approvals: reviewer")
    expect(first.locator("#quorum-voted")).to_have_text("You have approved this request; another reviewer must "
                                                        "decide it.")
    expect(first.locator("#approve")).to_have_count(0)

    clickers = [login(chromium, url, "admin", "admin-demo"), login(chromium, url, "rob", "rob-reviews-42")]
    for page in clickers:
        page.goto(approval_url)
        expect(page.locator("#quorum-progress")).to_have_text("1 of 2 approvals: reviewer")
    screenshot(clickers[1], "approval-quorum.png")  # a quorum in progress, as the next reviewer sees it
    # Both forms are submitted before either answer is back: the two POSTs are in flight together.
    for page in clickers:
        page.evaluate("document.getElementById('approve').click()")
    for page in clickers:
        expect(page.locator(".messages")).to_be_visible(timeout=20_000)
    said = sorted(page.locator(".messages li").first.inner_text().strip() for page in clickers)
    assert said[0].startswith("Already approved by "), said
    assert said[0].endswith("; nothing was changed."), said
    assert said[1] == "refund_payment: approved.", said

    operator.goto(run_url)
    expect(operator.locator("#run-status .badge").first).to_have_text("completed", timeout=20_000)
    expect(operator.locator("#timeline li.status-executed")).to_have_count(1)
    assert manage_shell(live_stack, EXECUTIONS) == "1"
