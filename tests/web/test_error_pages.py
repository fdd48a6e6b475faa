"""Error pages with DEBUG off (the default): the site's own styled pages with its navigation, never
Django's technical pages (URL patterns, settings, tracebacks), for visitors logged in or not."""

from __future__ import annotations

import copy

import pytest
from django.test import Client
from django.urls import path

from config import urls as site_urls
from runs.models import Run

pytestmark = pytest.mark.django_db

STYLED = '<link rel="stylesheet" href="/static/css/app.css">'
ANONYMOUS_NAV = '<nav><a href="/accounts/login/">Log in</a></nav>'
USER_NAV = '<a href="/runs/new/">Start a run</a>'
# What Django's technical pages show: the URL list, the settings, the traceback, the exception.
LEAKS = ("URLconf", "urlpatterns", "runs/&lt;uuid:run_id&gt;", "SECRET_KEY", "REDIS_URL", "DATABASES",
         "Traceback", "RequestDataTooBig", "RuntimeError", "site-packages", "boom-secret")


def _boom(request):
    raise RuntimeError("boom-secret: a bug")


def _broken_context(request):
    raise RuntimeError("boom-secret: the database is gone")


# ROOT_URLCONF of the 500 test: the site's URLs and error handlers, and a view with a bug.
urlpatterns = [*site_urls.urlpatterns, path("boom/", _boom)]
handler500 = site_urls.handler500


def _error_page(response, status: int, heading: str) -> str:
    """The page's HTML, once it is the site's styled page for `status` and shows nothing technical."""
    body = response.content.decode()
    assert (response.status_code, STYLED in body, f"<h1>{heading}</h1>" in body) == (status, True, True)
    assert [leak for leak in LEAKS if leak in body] == []
    return body


def test_404_for_an_anonymous_visitor_is_styled_with_the_login_link(client):
    body = _error_page(client.get("/no-such-page/"), 404, "Not found")
    assert ANONYMOUS_NAV in body


def test_404_for_a_user_has_the_navigation(client, operator):
    client.force_login(operator)
    body = _error_page(client.get("/runs/00000000-0000-4000-8000-000000000000/"), 404, "Not found")
    assert USER_NAV in body


def test_403_is_styled_with_the_navigation(client, operator):
    client.force_login(operator)  # not a reviewer: may not read the audit history
    body = _error_page(client.get("/audit/"), 403, "Not allowed")
    assert USER_NAV in body


def test_403_for_a_missing_csrf_token_is_styled(operator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    body = _error_page(client.post("/runs/new/", {"prompt": "Look up order ord_1"}), 403,
                       "The form could not be accepted")
    assert USER_NAV in body


def test_oversized_post_gets_the_styled_400_page_and_creates_nothing(client, operator):
    client.force_login(operator)
    response = client.post("/runs/new/", {"prompt": "x" * 3_000_000, "model": "gpt-4.1"})
    body = _error_page(response, 400, "The request could not be handled")
    assert USER_NAV in body
    assert "x" * 100 not in body
    assert Run.objects.count() == 0


def test_500_is_styled_with_the_navigation_and_leaks_nothing(settings, operator):
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    client.force_login(operator)
    body = _error_page(client.get("/boom/"), 500, "Something went wrong on our side")
    assert USER_NAV in body


def test_500_page_renders_without_the_navigation_when_the_page_context_fails(settings, operator):
    """When what failed is what every page reads (the nav's data), the 500 page still shows."""
    settings.TEMPLATES = copy.deepcopy(settings.TEMPLATES)
    settings.TEMPLATES[0]["OPTIONS"]["context_processors"].append(f"{__name__}._broken_context")
    client = Client(raise_request_exception=False)
    client.force_login(operator)
    body = _error_page(client.get("/runs/"), 500, "Something went wrong on our side")
    assert USER_NAV not in body
