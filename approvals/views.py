"""Approval pages: the live queue and one request's detail with approve/deny."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse

from runs.models import Run

from . import services
from .forms import ResolveForm
from .models import ApprovalRequest


def pending_rows(user):
    runs = Run.objects.visible_to(user)
    return ApprovalRequest.objects.pending().filter(run__in=runs).select_related("run", "run__started_by")[:100]


@login_required
def queue(request) -> HttpResponse:
    template = "approvals/queue.html#approval-rows" if request.htmx else "approvals/queue.html"
    return TemplateResponse(request, template, {"approvals": pending_rows(request.user)})


@login_required
def detail(request, approval_id: int) -> HttpResponse:
    runs = Run.objects.visible_to(request.user)
    approval = get_object_or_404(ApprovalRequest.objects.select_related("run", "reviewer"), pk=approval_id,
                                 run__in=runs)
    form = ResolveForm(request.POST if request.method == "POST" else None)  # an empty POST shows its errors
    status = 200
    if request.method == "POST":
        if form.is_valid():
            reason = form.cleaned_data["deny_reason"]
            try:
                services.resolve_approval(
                    approval_id=approval.pk, reviewer=request.user, resolution=form.cleaned_data["resolution"],
                    comment=form.cleaned_data["comment"], deny_reason_id=reason.pk if reason else None,
                )
            except services.NotAllowed as exc:
                messages.error(request, str(exc))
                status = 403
            except services.ApprovalError as exc:
                messages.error(request, str(exc))
                status = 409
            else:
                messages.success(request, f"{approval.tool}: {form.cleaned_data['resolution']}.")
                return redirect("approvals:detail", approval_id=approval.pk)
        else:
            status = 400
        approval.refresh_from_db()
    context = {"approval": approval, "form": form, "can_resolve": approval.is_pending
               and services.can_resolve(request.user, approval)}
    return TemplateResponse(request, "approvals/detail.html", context, status=status)
