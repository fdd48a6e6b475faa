"""The run pages: login, start form errors, visibility, escaping, HTMX partials, cancel."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from approvals.models import ApprovalRequest
from runs import commands
from runs.models import Run, RunEvent
from tests.factories import make_user, paused_run, register_demo_tools
from tests.support import demo_tools

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo(db):
    register_demo_tools()
    demo_tools.EXECUTIONS.clear()


@pytest.fixture
def operator(client):
    user = make_user("olivia")
    client.force_login(user)
    return user


@pytest.mark.parametrize("name", ["runs:list", "runs:new", "approvals:queue"])
def test_pages_require_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_start_form_empty_prompt_shows_error_and_creates_nothing(client, operator):
    response = client.post(reverse("runs:new"), {"prompt": "", "model": "gpt-4.1", "tools": ["lookup_order"]})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert Run.objects.count() == 0


def test_start_form_unknown_tool_refused(client, operator):
    response = client.post(reverse("runs:new"), {"prompt": "hi", "model": "gpt-4.1", "tools": ["format_disk"]})
    assert response.status_code == 400
    assert "format_disk is not one of the available choices" in response.content.decode()
    assert Run.objects.count() == 0


def test_start_form_oversized_prompt_refused(client, operator, settings):
    response = client.post(reverse("runs:new"), {"prompt": "x" * 20_001, "model": "gpt-4.1",
                                                 "tools": ["lookup_order"]})
    assert response.status_code == 400
    assert "Ensure this value has at most 20000 characters" in response.content.decode()


def test_start_form_starts_run_and_redirects(client, operator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("runs:new"), {"prompt": "Look up ord_1", "model": "gpt-4.1",
                                                     "tools": ["lookup_order"]})
    run = Run.objects.get()
    assert response.status_code == 302
    assert response.url == f"/runs/{run.pk}/"
    assert run.status == "completed"  # tasks run inline in tests


def test_run_list_queries_bounded(client, operator, django_assert_max_num_queries):
    for i in range(5):
        commands.start_run(user=operator, prompt=f"Look up ord_{i}", model="gpt-4.1", tool_names=["lookup_order"])
    with django_assert_max_num_queries(8):
        response = client.get(reverse("runs:list"))
    assert response.content.decode().count('class="badge status-') == 5


@pytest.mark.parametrize("rows", [2, 30])
def test_run_list_query_count_does_not_grow_with_rows(reviewer_page, rows):
    """A reviewer sees every user's runs; each row shows who started it."""
    for i in range(rows):
        commands.start_run(user=make_user(f"op{i}"), prompt=f"Look up ord_{i}", model="gpt-4.1",
                           tool_names=["lookup_order"])
    # session, user, user and group permissions, nav count, the rows with their starters
    body = reviewer_page(reverse("runs:list"), queries=6)
    assert body.count('class="badge status-queued"') == rows
    assert body.count("<td>op") == rows


def test_run_list_htmx_partial(client, operator):
    response = client.get(reverse("runs:list"), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="run-rows"')
    assert "<html" not in body


def test_other_users_run_is_404(client, operator):
    other = make_user("oscar")
    run = commands.start_run(user=other, prompt="Look up ord_1", model="gpt-4.1", tool_names=["lookup_order"])
    assert client.get(reverse("runs:detail", args=[run.pk])).status_code == 404


def test_tool_output_is_escaped(client, operator):
    run = commands.start_run(user=operator, prompt="Look up order <script>alert(1)</script>", model="gpt-4.1",
                             tool_names=["lookup_order"])
    body = client.get(reverse("runs:detail", args=[run.pk])).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_cancel_by_htmx_with_header_token_reloads_the_run_page(operator):
    """The Cancel button re-rendered by a live update posts with HTMX and the page's header token."""
    run = paused_run(operator)
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    client.get(reverse("runs:detail", args=[run.pk]))
    response = client.post(reverse("runs:cancel", args=[run.pk]),
                           headers={"HX-Request": "true", "X-CSRFToken": client.cookies["csrftoken"].value})
    assert response["HX-Redirect"] == run.get_absolute_url()
    assert Run.objects.get(pk=run.pk).status == "cancelled"


@pytest.mark.django_db(transaction=True)
def test_run_page_status_is_never_older_than_its_timeline(client, operator, end_run_during_first_read):
    """The run ends (status and last event in one commit) while the page is being built: the page
    must not show the last event under the old status, which its live updates would never correct."""
    run = Run.objects.create(started_by=operator, prompt="p", model="m", status="running")
    RunEvent.objects.create(run=run, seq=1, type="status", payload={"status": "running", "detail": "started"})

    client.force_login(operator)
    end_run_during_first_read(run, 2, status="failed", error="the provider kept failing")
    body = client.get(reverse("runs:detail", args=[run.pk])).content.decode()
    assert 'id="event-2"' in body
    assert re.search(r'id="run-status".*?class="badge status-([a-z_]+)"', body, re.DOTALL).group(1) == "failed"


def _timeline(body: str) -> str:
    return body[body.index('<ol id="timeline"'):body.index("</ol>", body.index('<ol id="timeline"'))]


def test_timeline_denial_entry_names_the_reviewer(client, operator, django_capture_on_commit_callbacks):
    run = paused_run(operator)
    approval = ApprovalRequest.objects.get(run=run)
    client.force_login(make_user("rita", reviewer=True))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("approvals:detail", args=[approval.pk]), {"resolution": "denied", "comment": "no"})
    client.force_login(operator)

    timeline = _timeline(client.get(reverse("runs:detail", args=[run.pk])).content.decode())

    assert re.search(r'class="event event-execution_event status-denied".*?denied by rita', timeline, re.DOTALL)


def test_timeline_shows_the_denial_a_cancel_made_naming_who_cancelled(client, operator):
    run = paused_run(operator)
    client.post(reverse("runs:cancel", args=[run.pk]))

    timeline = _timeline(client.get(reverse("runs:detail", args=[run.pk])).content.decode())

    denial = re.search(r'class="event event-execution_event status-denied".*?</li>', timeline, re.DOTALL)
    assert denial and "denied because olivia cancelled the run" in denial.group(0)
    assert "expiry" not in timeline
