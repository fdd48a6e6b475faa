"""The embedded stack as `python3 dev.py start` launches it, in Chromium: no page breaks the
Content-Security-Policy (which would mean a script, style or connection the browser refused), and
error pages are the site's own (DEBUG off)."""

from __future__ import annotations

import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# Chromium reports each refusal on the console ("Refused to ... because it violates the following
# Content Security Policy directive"); the DOM event is watched as well, in case a message changes.
WATCH_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline"));
});
"""
TECHNICAL_PAGE = ("URLconf", "urlpatterns", "Traceback", "SECRET_KEY", "REDIS_URL", "RequestDataTooBig")


class WatchedBrowser:
    """Pages of one Chromium whose Content-Security-Policy violations are all collected."""

    def __init__(self, chromium, url: str) -> None:
        self.chromium, self.url = chromium, url
        self.violations: list[str] = []

    def page(self, username: str | None = None, password: str | None = None):
        context = self.chromium.new_context(viewport={"width": 1200, "height": 900})
        context.add_init_script(WATCH_VIOLATIONS)
        page = context.new_page()
        page.on("console", lambda message: self._console(page, message))
        page.goto(f"{self.url}/accounts/login/")
        if username:
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_url(f"{self.url}/runs/")
        return page

    def _console(self, page, message) -> None:
        if "Content Security Policy" in message.text or message.text.startswith("CSP violation"):
            self.violations.append(f"{page.url}: {message.text}")


@pytest.fixture
def browser(live_stack, chromium) -> WatchedBrowser:
    return WatchedBrowser(chromium, live_stack["url"])


def test_every_page_kind_keeps_to_the_content_security_policy(live_stack, browser):
    url = live_stack["url"]
    login_page = browser.page()  # anonymous
    policy = login_page.evaluate("fetch(location.href).then(r => r.headers.get('content-security-policy'))")
    assert "script-src 'self'" in policy

    operator = browser.page("operator", "operator-demo")
    operator.goto(f"{url}/runs/new/")
    operator.fill("textarea[name=prompt]", "Refund order ord_123 for 250")
    operator.check("input[name=tools][value=refund_payment]")
    operator.click("#start-run")
    operator.wait_for_url(f"{url}/runs/*/")
    operator.wait_for_load_state("networkidle")
    assert browser.violations == []  # here first: a refused script would also stop the live updates below
    status = operator.locator("#run-status .badge").first
    expect(status).to_have_text("awaiting_approval", timeout=20_000)  # arrived over the websocket

    reviewer = browser.page("reviewer", "reviewer-demo")
    reviewer.goto(f"{url}/approvals/")
    reviewer.locator("#approval-rows tr", has_text="refund_payment").get_by_role("link").first.click()
    reviewer.fill("textarea[name=comment]", "checked")
    reviewer.click("#approve")
    expect(reviewer.locator(".messages")).to_contain_text("refund_payment: approved")
    expect(status).to_have_text("completed", timeout=20_000)  # the operator's page, live
    expect(operator.locator("#final-text")).not_to_be_empty()

    reviewer.goto(f"{url}/audit/")
    reviewer.fill("input[name=q]", "ord_123")  # an htmx request, swapped in
    expect(reviewer).to_have_url(f"{url}/audit/?q=ord_123", timeout=10_000)
    expect(reviewer.locator("#audit-results tbody tr").first).to_contain_text("refund_payment")
    reviewer.goto(f"{url}/no-such-page/")

    admin = browser.page("admin", "admin-demo")
    for path in ("/admin/", "/admin/governance/toolregistration/", "/admin/governance/toolregistration/add/",
                 "/admin/auth/user/", "/admin/axes/accessattempt/", "/admin/audit/auditrecord/"):
        response = admin.goto(f"{url}{path}")
        assert (path, response.status) == (path, 200)
        admin.wait_for_load_state("networkidle")
    admin.locator("#changelist-search input[name=q]").fill("admin")  # the admin's own scripts at work
    admin.wait_for_timeout(500)
    admin.goto(f"{url}/admin/governance/toolregistration/")  # a replay: its panel polls with htmx in the admin
    admin.get_by_role("link", name="refund_payment", exact=True).click()
    admin.click("#replay-draft")
    expect(admin.locator("#replay-panel")).to_have_attribute("data-status", "done", timeout=20_000)
    admin.click("#replay-link")  # and its own page
    expect(admin.locator("#replay-summary")).to_be_visible()
    assert browser.violations == []


def test_a_violation_is_seen_by_this_watch(live_stack, browser):
    """The watch the test above relies on does see a refused inline script."""
    page = browser.page()
    page.evaluate("""() => {
      const script = document.createElement("script");
      script.textContent = "window.__inlineRan = true";
      document.body.appendChild(script);
    }""")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__inlineRan === undefined") is True
    assert len(browser.violations) >= 1
    assert "script-src" in browser.violations[0]


def test_404_on_the_embedded_stack_is_the_site_page_without_the_url_list(live_stack, browser):
    url = live_stack["url"]
    with pytest.raises(urllib.error.HTTPError) as caught:  # an anonymous visitor, no browser
        urllib.request.urlopen(f"{url}/no-such-page/", timeout=10)
    body = caught.value.read().decode()
    assert caught.value.code == 404
    assert '<nav><a href="/accounts/login/">Log in</a></nav>' in body
    assert [leak for leak in TECHNICAL_PAGE if leak in body] == []

    operator = browser.page("operator", "operator-demo")
    response = operator.goto(f"{url}/runs/no-such-run/")
    assert response.status == 404
    expect(operator.locator("h1")).to_have_text("Not found")
    expect(operator.locator("header nav")).to_contain_text("Start a run")
    assert [leak for leak in TECHNICAL_PAGE if leak in operator.content()] == []


def test_oversized_form_on_the_embedded_stack_gets_the_styled_400_page(live_stack, browser):
    url = live_stack["url"]
    operator = browser.page("operator", "operator-demo")
    operator.goto(f"{url}/runs/new/")
    operator.evaluate("document.querySelector('textarea[name=prompt]').value = 'x'.repeat(3 * 1024 * 1024)")
    operator.check("input[name=tools][value=lookup_order]")
    with operator.expect_navigation() as navigation:
        operator.click("#start-run")
    assert navigation.value.status == 400
    expect(operator.locator("h1")).to_have_text("The request could not be handled")
    expect(operator.locator("header nav")).to_contain_text("Start a run")
    content = operator.content()
    assert [leak for leak in TECHNICAL_PAGE if leak in content] == []
    assert re.search("x{100}", content) is None
    assert browser.violations == []
