"""The audit page (filters, text search, keyset pages, HTMX updates) and its streamed exports."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django_htmx.http import push_url

from governance import observe

from . import export, search
from .access import audit_readers_only
from .forms import AuditFilterForm


@audit_readers_only
def audit_index(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    page = None
    if form.is_valid():
        page = search.page(form.criteria(), before=form.cleaned_data.get("before"))
    htmx = getattr(request, "htmx", False)
    template = "audit/index.html#audit-results" if htmx else "audit/index.html"
    status = 400 if not form.is_valid() and not htmx else 200  # htmx swaps only 2xx: show the errors
    context = {
        "form": form,
        "page": page,
        "filters_query": form.query_string(before=None),
        "next_query": form.query_string(before=page.next_before) if page and page.next_before else "",
        "observe_domains": observe.observed_domains() if page else frozenset(),  # one query: marks the rows
    }
    response = TemplateResponse(request, template, context, status=status)
    if htmx:  # the address bar gets the filters without the empty ones: short, shareable
        clean = form.query_string()
        push_url(response, request.path + (f"?{clean}" if clean else ""))
    return response


@audit_readers_only
def audit_export(request: HttpRequest, fmt: str) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        errors = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in form.errors.items())
        return HttpResponse(f"Nothing exported: {errors}\n", status=400, content_type="text/plain")
    queryset = search.filtered(form.criteria())
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    if fmt == "csv":
        response = StreamingHttpResponse(export.csv_lines(queryset), content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(export.jsonl_lines(queryset), content_type="application/x-ndjson")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{fmt}"'
    return response

