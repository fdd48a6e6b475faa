"""Run pages: the live list, the start form, a run's live detail, cancel (after a confirmation), retry.
Logic lives in commands."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, push_url
from django_htmx.middleware import HtmxDetails

from audit.search import run_trail
from governance import observe

from . import commands
from .forms import RunFilterForm, StartRunForm
from .listing import run_listing
from .models import Run


class HtmxHttpRequest(HttpRequest):
    """A request that went through django-htmx's middleware."""

    htmx: HtmxDetails


@login_required
def run_list(request: HtmxHttpRequest) -> HttpResponse:
    filters = RunFilterForm(request.GET)
    valid = filters.is_valid()
    context = run_listing(filters, request.user)
    if not request.htmx:
        return TemplateResponse(request, "runs/list.html", context, status=200 if valid else 400)
    # HTMX swaps only 2xx: the errors are shown in place of the rows.
    response = TemplateResponse(request, "runs/_list_update.html", context)
    return push_url(response, request.path + (f"?{context['filters_query']}" if context["filters_query"] else ""))


@login_required
def run_new(request: HtmxHttpRequest) -> HttpResponse:
    # Bound on every POST: an empty or non-form body must show "required" errors, not a blank form.
    form = StartRunForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            run = commands.start_run(
                user=request.user, prompt=form.cleaned_data["prompt"], model=form.cleaned_data["model"],
                tool_names=[t.name for t in form.cleaned_data["tools"]],
            )
        except commands.RunInputError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            if request.htmx:
                return HttpResponseClientRedirect(run.get_absolute_url())
            return redirect(run)
    status = 400 if request.method == "POST" else 200
    return TemplateResponse(request, "runs/new.html", {"form": form}, status=status)


@login_required
def run_detail(request: HtmxHttpRequest, run_id) -> HttpResponse:
    run = get_object_or_404(Run.objects.visible_to(request.user).select_related("started_by"), pk=run_id)
    events = list(run.events.order_by("seq"))
    # Re-read after the events, as the consumer does: a status older than the last event shown
    # would never be corrected, since the page asks only for events after that one.
    run = Run.objects.select_related("started_by").get(pk=run.pk)
    context = {"run": run, "events": events, "last_seq": events[-1].seq if events else 0,
               "audit_trail": run_trail(run.pk), **commands.offered(request.user, run)}
    if request.htmx:
        return TemplateResponse(request, "runs/detail.html#run-status", context)
    observed = observe.observed_domains()  # one query: marks the run and its audit rows
    context.update(observe_domains=observed,
                   observe_only=bool(observed) and run.tools.filter(domain__in=observed).exists())
    return TemplateResponse(request, "runs/detail.html", {**context, **commands.kill_switch(request.user, run)})


@login_required
@require_POST
def run_cancel(request: HtmxHttpRequest, run_id) -> HttpResponse:
    run = get_object_or_404(Run.objects.visible_to(request.user), pk=run_id)
    if request.POST.get("confirm") != "yes" and commands.offered(request.user, run)["can_cancel"]:
        # Cancelling is final, so it is asked first: the button's hx-confirm sends `confirm`; a post without
        # it (no JavaScript) gets this question, and nothing is cancelled yet.
        if request.htmx:
            return TemplateResponse(request, "runs/cancel_confirm.html#confirm-cancel", {"run": run})
        return TemplateResponse(request, "runs/cancel_confirm.html", {"run": run})
    if commands.cancel_run(run=run, user=request.user):
        messages.success(request, "The run was cancelled.")
    else:
        messages.error(request, "This run cannot be cancelled (it has ended, or you may not cancel it).")
    return _to(request, run)


@login_required
@require_POST
def run_retry(request: HtmxHttpRequest, run_id) -> HttpResponse:
    run = get_object_or_404(Run.objects.visible_to(request.user), pk=run_id)
    try:
        new_run = commands.retry_run(run=run, user=request.user)
    except commands.RetryRefused as exc:
        messages.error(request, str(exc))
        return _to(request, run)
    messages.success(request, f"This is a new run retrying run {commands.short_id(run)}.")
    return _to(request, new_run)


def _to(request: HtmxHttpRequest, run: Run) -> HttpResponse:
    """Go to the run's page; an HTMX post (the buttons after a live update) needs a full page load."""
    if request.htmx:
        return HttpResponseClientRedirect(run.get_absolute_url())
    return redirect(run)
