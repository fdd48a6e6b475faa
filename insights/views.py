"""The insights page and its CSV export: filters in, figures (insights/figures.py) out."""

from __future__ import annotations

import csv

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from audit.access import audit_readers_only

from . import figures, page, rollup
from .forms import InsightFilterForm


@audit_readers_only
def insights_index(request: HttpRequest) -> HttpResponse:
    form = InsightFilterForm(request.GET)
    if not form.is_valid():
        return TemplateResponse(request, "insights/index.html", {"form": form}, status=400)
    rollup.catch_up(most=rollup.ON_READ)
    found = figures.compute(form.criteria())
    context = {"form": form, "figures": found, "charts": page.charts_for(found), "links": page.rate_links(found),
               "legend": page.legend(found),
               "filters_query": form.query_string(), "behind": rollup.behind()}
    return TemplateResponse(request, "insights/index.html", context)


@audit_readers_only
def insights_csv(request: HttpRequest) -> HttpResponse:
    form = InsightFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponse(f"Nothing exported: {form.error_text()}\n", status=400, content_type="text/plain")
    rollup.catch_up(most=rollup.ON_READ)
    found = figures.compute(form.criteria())
    criteria = form.criteria()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"insights-{criteria['since']:%Y%m%d}-{criteria['until']:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    csv.writer(response).writerows(figures.csv_rows(found))
    return response
