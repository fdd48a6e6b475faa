"""The runs list's search, filters and pages, as a user reads them: each filter lists exactly the runs it
names, newest first with their total; bad filters say what is wrong (400) instead of failing; a page
takes the same queries with 2 rows or 30."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.models import ToolRegistration
from runs import listing
from runs.models import Run, RunOrigin, RunStatus
from tests.factories import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_tools_registered")]


def _run(user, prompt: str, *, status=RunStatus.COMPLETED, tools=("lookup_order",), day: str = "2026-03-02",
         **fields) -> Run:
    run = Run.objects.create(started_by=user, prompt=prompt, model="gpt-4.1", status=status, **fields)
    run.tools.set(ToolRegistration.objects.filter(name__in=tools))
    # created_at is auto_now_add: set the day afterwards, noon in the dashboard's time zone.
    created = timezone.make_aware(datetime.fromisoformat(day) + timedelta(hours=12))
    Run.objects.filter(pk=run.pk).update(created_at=created)
    return run


@pytest.fixture
def runs(operator, reviewer):
    """Five runs across users, statuses, tools, days and outcomes, listed to the reviewer (who sees all)."""
    other = make_user("oscar")
    return {
        "refund": _run(operator, "Refund order ord_7 for 250", status=RunStatus.AWAITING_APPROVAL,
                       tools=("refund_payment",), day="2026-03-01"),
        "lookup": _run(operator, "Look up order ord_7", day="2026-03-02"),
        "delete": _run(other, "Delete customer cus_9", tools=("delete_customer",), day="2026-03-03",
                       calls_blocked=1),
        "failed": _run(other, "Look up order ord_8", status=RunStatus.FAILED, day="2026-03-04"),
        "remote": _run(None, "", day="2026-03-05", origin=RunOrigin.REMOTE, agent="billing-agent",
                       session="ticket-4711", tools=()),
    }


def _listed(client, runs, **query) -> list[str]:
    """The names of the runs the list shows for `query`, in its order."""
    response = client.get(reverse("runs:list"), query)
    assert response.status_code == 200, response.content.decode()
    ids = re.findall(r'<a href="/runs/([0-9a-f-]+)/">', response.content.decode())
    names = {str(run.pk): name for name, run in runs.items()}
    return [names[i] for i in ids]


def _total(client, **query) -> str:
    body = client.get(reverse("runs:list"), query).content.decode()
    return re.search(r'<p class="muted" id="run-total">([^<]*)</p>', body).group(1)


@pytest.fixture
def as_reviewer(client, reviewer):
    client.force_login(reviewer)
    return client


def test_lists_newest_first_with_the_total(as_reviewer, runs):
    assert _listed(as_reviewer, runs) == ["remote", "failed", "delete", "lookup", "refund"]
    assert _total(as_reviewer) == "5 runs"


@pytest.mark.parametrize(("query", "listed", "total"), [
    ({"q": "ORD_7"}, ["lookup", "refund"], "2 runs match"),
    ({"q": "nothing like it"}, [], "0 runs match"),
    ({"status": "failed"}, ["failed"], "1 run matches"),
    ({"status": "awaiting_approval"}, ["refund"], "1 run matches"),
    ({"outcome": "blocked"}, ["delete"], "1 run matches"),
    ({"tool": "refund_payment"}, ["refund"], "1 run matches"),
    ({"tool": "lookup_order"}, ["failed", "lookup"], "2 runs match"),
    ({"user": "Oscar"}, ["failed", "delete"], "2 runs match"),
    ({"user": "billing-agent"}, ["remote"], "1 run matches"),
    ({"origin": "remote"}, ["remote"], "1 run matches"),
    ({"since": "2026-03-03"}, ["remote", "failed", "delete"], "3 runs match"),
    ({"until": "2026-03-02"}, ["lookup", "refund"], "2 runs match"),
    ({"since": "2026-03-02", "until": "2026-03-02"}, ["lookup"], "1 run matches"),
    ({"q": "order", "user": "olivia", "tool": "lookup_order"}, ["lookup"], "1 run matches"),
])
def test_each_filter_lists_exactly_what_it_names(as_reviewer, runs, query, listed, total):
    assert (_listed(as_reviewer, runs, **query), _total(as_reviewer, **query)) == (listed, total)


def test_a_user_who_is_no_reviewer_searches_only_their_own_runs(client, operator, runs):
    client.force_login(make_user("oscar2"))
    assert _listed(client, runs, q="order") == []
    client.force_login(operator)
    assert _listed(client, runs, q="order") == ["lookup", "refund"]


@pytest.mark.parametrize(("query", "error"), [
    ({"since": "yesterday"}, "since: Enter a date as YYYY-MM-DD."),
    ({"until": "2026-02-30"}, "until: Enter a date as YYYY-MM-DD."),
    ({"since": "2026-03-04", "until": "2026-03-02"}, "until: “To” (2026-03-02) is before “From” (2026-03-04)."),
    ({"status": "exploded"}, "status: Select a valid choice. exploded is not one of the available choices."),
    ({"tool": "format_disk"}, "tool: There is no tool by that name."),
    ({"page": "two"}, "page: The page must be a whole number."),
    ({"page": "0"}, "page: Ensure this value is greater than or equal to 1."),
    ({"q": "x" * 201}, "q: Ensure this value has at most 200 characters (it has 201)."),
])
def test_bad_filters_say_what_is_wrong_and_list_nothing(as_reviewer, runs, query, error):
    response = as_reviewer.get(reverse("runs:list"), query)
    body = response.content.decode()
    assert response.status_code == 400
    assert re.findall(r"<li>([^<]*)</li>", body.split('id="run-rows"')[1]) == [error]
    assert 'href="/runs/' + str(runs["lookup"].pk) not in body


def test_pages_split_the_list_and_keep_the_filters(as_reviewer, runs, monkeypatch):
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    assert _listed(as_reviewer, runs) == ["remote", "failed"]
    assert _listed(as_reviewer, runs, page="2") == ["delete", "lookup"]
    assert _listed(as_reviewer, runs, page="3") == ["refund"]
    assert _listed(as_reviewer, runs, page="9") == ["refund"]  # past the end: the last page
    assert _total(as_reviewer, page="2") == "5 runs · page 2 of 3"
    body = as_reviewer.get(reverse("runs:list"), {"q": "order", "page": "2"}).content.decode()
    pager = re.search(r'<nav class="pager".*?</nav>', body, re.S).group(0)
    assert re.findall(r'href="([^"]*)"', pager) == ["?q=order&amp;page=1"]
    assert _listed(as_reviewer, runs, q="order", page="2") == ["refund"]
    # the page's live socket re-renders the same page with the same filters
    sockets = re.findall(r'ws-connect="(/ws/dashboard/[^"]*)"', body)
    assert sockets == ["/ws/dashboard/?show=runs&amp;q=order&amp;page=2"]


def test_the_filter_form_has_no_page_field_so_a_new_filter_starts_at_page_one(as_reviewer, runs):
    body = as_reviewer.get(reverse("runs:list"), {"page": "1"}).content.decode()
    form = re.search(r'<form id="run-filters".*?</form>', body, re.S).group(0)
    assert 'name="page"' not in form
    assert re.findall(r'name="(\w+)"', form) == ["q", "status", "outcome", "tool", "origin", "user", "since", "until"]


@pytest.mark.parametrize("rows", [2, 30])
def test_filtered_paged_list_query_count_does_not_grow_with_rows(reviewer_page, rows, monkeypatch):
    monkeypatch.setattr(listing, "PAGE_SIZE", 20)
    for i in range(rows):
        _run(make_user(f"op{i}"), f"Look up order ord_{i}", day=f"2026-03-{1 + i % 20:02d}")
    # session, user, user and group permissions, nav count, the tool named, the total, the page's rows with
    # their starters, the tools the filter offers
    body = reviewer_page(reverse("runs:list") + "?q=order&tool=lookup_order&since=2026-03-01&until=2026-03-31"
                         "&status=completed", queries=9)
    assert body.count("<td>op") == min(rows, 20)
