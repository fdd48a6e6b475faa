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
    # Every operation of the OpenAPI document, as the server publishes it, is on the page.
    document = page.request.get(f"{url}/bighub/openapi.json").json()
    published = sorted(path for path, operations in document["paths"].items() for _method in operations)
    assert "/bighub/actions/evaluate" in published and "/bighub/approvals/{request_id}/resolve" in published
    paths = page.locator(".opblock-summary-path")
    expect(paths).to_have_count(len(published), timeout=15_000)
    assert sorted(paths.all_inner_texts()) == published
    expect(page.locator(".btn.authorize")).to_be_visible()  # the X-API-Key scheme
    assert hosts == {urlsplit(url).netloc}
    context.close()
