"""Approval pages: the live queue and one request's detail with approve/deny."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse

from governance import permissions

from . import services
from .forms import ResolveForm
from .models import ApprovalRequest


@login_required
def queue(request) -> HttpResponse:
    template = "approvals/queue.html#approval-rows" if request.htmx else "approvals/queue.html"
    return TemplateResponse(request, template, {"approvals": ApprovalRequest.objects.queue_for(request.user).listed()})


@login_required
def detail(request, approval_id: int) -> HttpResponse:
    approval = get_object_or_404(
        ApprovalRequest.objects.visible_to(request.user).select_related("run", "resolved_by"), pk=approval_id
    )
    form = ResolveForm(request.POST if request.method == "POST" else None)  # an empty POST shows its errors
    status = 200
    if request.method == "POST":
        if form.is_valid():
            reason = form.cleaned_data["deny_reason"]
            try:
                services.resolve_approval(
                    approval=approval, reviewer=request.user, resolution=form.cleaned_data["resolution"],
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
               and permissions.may_resolve(request.user, approval)}
    return TemplateResponse(request, "approvals/detail.html", context, status=status)
