"""The run pages: login, start form errors, visibility, escaping, HTMX partials, cancel."""

from __future__ import annotations

import functools
import re

import pytest
from django.test import Client
from django.urls import reverse

from approvals.models import ApprovalRequest
from approvals.services import expire_overdue
from runs import commands, worker
from runs.models import Run, RunEvent
from tests.factories import blocked_run, denied_run, make_user, paused_run, register_demo_tools, start_run_now
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
    # session, user, user and group permissions, nav count, the total (paging), the rows with their starters,
    # the tools the filter offers
    body = reviewer_page(reverse("runs:list"), queries=8)
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
    response = client.post(reverse("runs:cancel", args=[run.pk]), {"confirm": "yes"},  # as hx-vals sends it
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
    client.post(reverse("runs:cancel", args=[run.pk]), {"confirm": "yes"})

    timeline = _timeline(client.get(reverse("runs:detail", args=[run.pk])).content.decode())

    denial = re.search(r'class="event event-execution_event status-denied".*?</li>', timeline, re.DOTALL)
    assert denial and "denied because olivia cancelled the run" in denial.group(0)
    assert "expiry" not in timeline


# -- what happened to a run's calls, besides its status ---------------------------------------------

def _page_badge(body: str) -> str:
    """The badge at the top of a run page's status section."""
    return re.search(r'id="run-status".*?(<span class="badge[^>]*>[^<]*</span>)', body, re.DOTALL).group(1)


def _list_badges(body: str) -> dict[str, str]:
    """Run id -> the badge its row in the runs list shows."""
    badge = r'<span class="badge[^>]*>[^<]*</span>'
    return dict(re.findall(rf'<a href="/runs/([0-9a-f-]+)/">[^<]*</a></td>\s*<td>({badge})', body))


def _shown(client, run) -> tuple[str, str]:
    """The run's badge in the runs list and on its page."""
    listed = _list_badges(client.get(reverse("runs:list")).content.decode())[str(run.pk)]
    return listed, _page_badge(client.get(reverse("runs:detail", args=[run.pk])).content.decode())


def test_run_whose_only_call_was_blocked_says_so_in_the_list_and_on_its_page(client, operator):
    run = blocked_run(operator)
    badge = '<span class="badge status-completed calls-not-done">completed · 1 blocked</span>'
    assert _shown(client, run) == (badge, badge)


def test_run_whose_only_call_was_denied_says_so_in_the_list_and_on_its_page(client, operator):
    run = denied_run(operator, make_user("rita", reviewer=True))
    badge = '<span class="badge status-completed calls-not-done">completed · 1 denied</span>'
    assert _shown(client, run) == (badge, badge)


def test_cancelled_run_shows_the_denial_its_cancel_made(client, operator):
    run = paused_run(operator)
    commands.cancel_run(run=run, user=operator)
    badge = '<span class="badge status-cancelled calls-not-done">cancelled · 1 denied</span>'
    assert _shown(client, run) == (badge, badge)


def test_run_whose_calls_all_ran_stays_completed(client, operator):
    run = start_run_now(operator, "Look up order ord_100", tools=("lookup_order",))
    badge = '<span class="badge status-completed">completed</span>'
    assert _shown(client, run) == (badge, badge)
    page = client.get(reverse("runs:detail", args=[run.pk])).content.decode()
    assert re.search(r'<p[^>]*id="run-calls"[^>]*>([^<]*)</p>', page).group(1) == "Tool calls: 1 done."


def test_run_page_counts_every_kind_of_call(client, operator):
    run = start_run_now(operator, "Look up order ord_1 and delete customer cus_2",
                        tools=("lookup_order", "delete_customer"))
    page = client.get(reverse("runs:detail", args=[run.pk])).content.decode()
    assert _page_badge(page) == '<span class="badge status-completed calls-not-done">completed · 1 blocked</span>'
    assert re.search(r'<p[^>]*id="run-calls"[^>]*>([^<]*)</p>', page).group(1) == "Tool calls: 1 done, 1 blocked."


def _expired_run(user):
    run = paused_run(user)
    ApprovalRequest.objects.filter(run=run).update(expires_at="2000-01-01T00:00:00Z")
    assert expire_overdue() == 1
    worker.resume_run(run_id=run.pk)
    return run


def _failed_call_run(user, monkeypatch):
    def lookup_order(order_id: str):
        raise ConnectionError("the order service is down")

    with monkeypatch.context() as patch:
        patch.setattr(demo_tools, "lookup_order", functools.wraps(demo_tools.lookup_order)(lookup_order))
        return start_run_now(user, "Look up order ord_5", tools=("lookup_order",))


def test_run_whose_review_expired_or_tool_failed_says_so(client, operator, monkeypatch):
    expired, failed = _expired_run(operator), _failed_call_run(operator, monkeypatch)
    assert _shown(client, expired) == (
        '<span class="badge status-completed calls-not-done">completed · 1 expired</span>',) * 2
    assert _shown(client, failed) == (
        '<span class="badge status-completed calls-not-done">completed · 1 tool error</span>',) * 2


@pytest.fixture
def runs_of_each_outcome(operator, monkeypatch):
    """name -> a run of the operator's: all calls done, one blocked, denied, denied by its cancel, expired,
    failed."""
    cancelled = paused_run(operator)
    commands.cancel_run(run=cancelled, user=operator)
    return {
        "clean": start_run_now(operator, "Look up order ord_100", tools=("lookup_order",)),
        "blocked": blocked_run(operator),
        "denied": denied_run(operator, make_user("rita", reviewer=True)),
        "cancelled": cancelled,
        "expired": _expired_run(operator),
        "failed": _failed_call_run(operator, monkeypatch),
    }


@pytest.mark.parametrize(("outcome", "listed"), [
    ("", ["clean", "blocked", "denied", "cancelled", "expired", "failed"]),
    ("clean", ["clean"]),
    ("blocked", ["blocked"]),
    ("denied", ["denied", "cancelled"]),
    ("expired", ["expired"]),
    ("failed", ["failed"]),
])
def test_run_list_filters_by_what_happened_to_the_calls(client, runs_of_each_outcome, outcome, listed):
    body = client.get(reverse("runs:list"), {"outcome": outcome}).content.decode()
    assert set(_list_badges(body)) == {str(runs_of_each_outcome[name].pk) for name in listed}
    selected = re.search(r'name="outcome".*?<option value="([a-z]*)" selected>', body, re.S).group(1)
    assert selected == outcome


def test_run_list_unknown_outcome_filter_is_a_clear_error(client, runs_of_each_outcome):
    response = client.get(reverse("runs:list"), {"outcome": "everything"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Select a valid choice. everything is not one of the available choices." in body
    assert _list_badges(body) == {}


def test_run_list_filter_by_htmx_swaps_the_rows_and_the_dashboard_socket(client, runs_of_each_outcome):
    """The dashboard socket re-renders the list on every change: it must keep the filter the page shows."""
    response = client.get(reverse("runs:list"), {"outcome": "blocked"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert set(_list_badges(body)) == {str(runs_of_each_outcome["blocked"].pk)}
    socket = re.search(r'<div id="dashboard-socket"[^>]*>', body).group(0)
    assert 'ws-connect="/ws/dashboard/?show=runs&amp;outcome=blocked"' in socket
    assert 'hx-swap-oob="true"' in socket
    assert response["HX-Push-Url"] == "/runs/?outcome=blocked"


def test_run_list_page_socket_carries_the_filter(client, runs_of_each_outcome):
    body = client.get(reverse("runs:list"), {"outcome": "denied"}).content.decode()
    assert re.findall(r'ws-connect="(/ws/dashboard/[^"]*)"', body) == ["/ws/dashboard/?show=runs&amp;outcome=denied"]


@pytest.mark.parametrize("rows", [2, 30])
def test_run_list_filtered_query_count_does_not_grow_with_rows(reviewer_page, rows):
    for i in range(rows):
        blocked_run(make_user(f"op{i}"))
        start_run_now(make_user(f"clean{i}"), "Look up order ord_1", tools=("lookup_order",))
    # session, user, user and group permissions, nav count, the total (paging), the rows with their starters,
    # the tools the filter offers
    body = reviewer_page(reverse("runs:list") + "?outcome=blocked", queries=8)
    assert body.count("completed · 1 blocked</span>") == rows
    assert body.count("<td>op") == rows
    assert body.count("<td>clean") == 0
