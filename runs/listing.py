"""The runs list as its page and its dashboard socket show it: the runs a user may see, narrowed by the
list's filters (a search of the prompts, status, what happened to the calls, tool, who started it, a
time range), newest first, one page at a time, with the total they add up to.

`RunFilterForm` (runs/forms.py) reads and validates the query string; `narrow` applies its cleaned
values; `run_listing` gives the template its context. The page costs two queries whatever its length:
the total and the page's rows (with who started them and whether they are in an observe-only domain).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Q
from django.utils import timezone

from .models import Run, RunQuerySet

PAGE_SIZE = 50  # as many as the list showed before it had pages


def narrow(runs: RunQuerySet, values: dict[str, Any]) -> RunQuerySet:
    """`runs` narrowed to the cleaned filter `values` (empty ones ignored)."""
    runs = runs.with_origin(values.get("origin") or "").with_outcome(values.get("outcome") or "")
    if values.get("q"):
        runs = runs.filter(prompt__icontains=values["q"])
    if values.get("status"):
        runs = runs.filter(status=values["status"])
    if values.get("tool"):
        runs = runs.filter(tools__name=values["tool"])  # one row per run: a run offers a tool at most once
    if values.get("user"):
        # The "Started by" column: a person's username, or a remote agent's key name.
        runs = runs.filter(Q(started_by__username__iexact=values["user"]) | Q(agent__iexact=values["user"]))
    if values.get("since"):
        runs = runs.filter(created_at__gte=start_of(values["since"]))
    if values.get("until"):
        runs = runs.filter(created_at__lt=start_of(values["until"] + timedelta(days=1)))  # the whole day
    return runs


def start_of(day: date) -> datetime:
    """Midnight at the start of `day`, in the dashboard's time zone (TIME_ZONE), as the list shows times."""
    return timezone.make_aware(datetime.combine(day, time.min))


def run_listing(filters, user) -> dict[str, Any]:
    """The runs list's template context for `user` and the bound `filters` (a RunFilterForm).

    Invalid filters list nothing (the template shows their errors instead). A page number past the end
    shows the last page.
    """
    context: dict[str, Any] = {"filters": filters, "filters_query": filters.query_string(),
                               "page_query": filters.query_string(without=("page",)), "runs": [], "page": None}
    if not filters.is_valid():
        return context
    runs = narrow(Run.objects.visible_to(user), filters.cleaned_data)
    rows = runs.select_related("started_by").with_observe_only().order_by("-created_at", "-pk")
    paginator = Paginator(rows, PAGE_SIZE)
    page = paginator.get_page(filters.cleaned_data.get("page") or 1)
    return {**context, "runs": page.object_list, "page": page}
