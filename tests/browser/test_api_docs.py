"""The agents' API docs page in a real browser: Swagger UI renders every endpoint from the dashboard's own
files, and the page asks no other site for anything (it works offline, behind a firewall)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_api_docs_page_renders_every_endpoint_from_the_dashboard_alone(live_stack, chromium):
    url = live_stack["url"]
    context = chromium.new_context()
    page = context.new_page()
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    page.goto(f"{url}/bighub/docs")
    paths = page.locator(".opblock-summary-path")
    expect(paths).to_have_count(4, timeout=15_000)
    assert sorted(paths.all_inner_texts()) == ["/bighub/actions/evaluate", "/bighub/actions/evaluate/batch",
                                               "/bighub/actions/memory/ingest", "/bighub/outcomes/report"]
    expect(page.locator(".btn.authorize")).to_be_visible()  # the X-API-Key scheme
    assert hosts == {urlsplit(url).netloc}
    context.close()
