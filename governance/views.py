"""A replay's own page (a link that reopens it) and its HTMX fragment, and cancelling it. Replays are
started from the admin forms of the policy set (governance/admin.py); the logic is governance/replay_jobs.py."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from . import permissions, replay_jobs
from .models import ReplayJob


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _job(request: HttpRequest, job_id: int) -> ReplayJob:
    if not permissions.may_replay(request.user):
        raise PermissionDenied
    return get_object_or_404(ReplayJob, pk=job_id)


@login_required
def replay_detail(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    if request.htmx:  # the panel polling itself, on this page or on the admin form it was started from
        return TemplateResponse(request, "governance/_replay_fragment.html",
                                {"job": job, "standalone": bool(request.GET.get("standalone"))})
    return TemplateResponse(request, "governance/replay.html", {"job": job})


@login_required
@require_POST
def replay_cancel(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    if not permissions.may_cancel_replay(request.user, job):
        raise PermissionDenied
    job = replay_jobs.cancel(job, by=request.user)
    if request.htmx:
        return TemplateResponse(request, "governance/_replay_fragment.html",
                                {"job": job, "standalone": bool(request.POST.get("standalone"))})
    return redirect("governance:replay", job_id=job.pk)
