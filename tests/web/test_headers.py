"""Response headers: every page sends the Content-Security-Policy, and nothing the dashboard shows is
kept by a browser or proxy cache (static files, content-addressed, stay cacheable)."""

from __future__ import annotations

import pytest

from approvals.models import ApprovalRequest
from tests.factories import start_run_now

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "img-src": "'self' data:",
    "font-src": "'self'", "connect-src": "'self'", "object-src": "'none'", "base-uri": "'none'",
    "form-action": "'self'", "frame-ancestors": "'none'",
}
NO_STORE = "max-age=0, no-cache, no-store, must-revalidate, private"


def _policy(response) -> dict[str, str]:
    """The Content-Security-Policy header as {directive: sources} (django-csp does not keep their order)."""
    directives = (part.strip().partition(" ") for part in response["Content-Security-Policy"].split(";"))
    return {name: sources for name, _, sources in directives}


@pytest.fixture
def pages(demo_tools_registered, operator, reviewer) -> dict[str, str]:
    """One URL of each page kind that shows runs, approvals or audit records."""
    run = start_run_now(operator, "Refund order ord_7 for 250", tools=("refund_payment",))
    approval = ApprovalRequest.objects.get()
    return {
        "runs list": "/runs/", "run page": f"/runs/{run.pk}/", "new run": "/runs/new/",
        "approvals queue": "/approvals/", "approval page": f"/approvals/{approval.pk}/", "audit page": "/audit/",
        "audit export": "/audit/export.csv",
    }


def test_every_page_sends_the_content_security_policy(client, reviewer, pages):
    client.force_login(reviewer)
    for name, url in pages.items():
        response = client.get(url)
        assert (name, response.status_code, _policy(response)) == (name, 200, POLICY)
    client.logout()
    assert _policy(client.get("/accounts/login/")) == POLICY
    assert _policy(client.get("/no-such-page/")) == POLICY


def test_pages_showing_runs_approvals_and_audit_are_not_stored(client, reviewer, pages):
    client.force_login(reviewer)
    for name, url in pages.items():
        response = client.get(url)
        assert (name, response["Cache-Control"]) == (name, NO_STORE)
    partial = client.get("/runs/", headers={"HX-Request": "true"})
    assert partial["Cache-Control"] == NO_STORE


def test_admin_pages_are_not_stored(admin_client):
    for url in ("/admin/", "/admin/governance/toolregistration/", "/admin/audit/auditrecord/"):
        assert (url, admin_client.get(url)["Cache-Control"]) == (url, NO_STORE)


def test_static_files_stay_cacheable(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response["Cache-Control"]
