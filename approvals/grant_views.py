"""Sticky grants' pages: resolving a request with a grant (from its approval page), the active grants with
a one-click revoke. The work is approvals/grants.py."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from . import grants, services
from .grant_forms import GrantForm
from .models import ApprovalRequest, Grant


@login_required
@require_POST
def grant(request, approval_id: int) -> HttpResponse:
    """Resolve the request and make the grant the form names, then back to the request's page."""
    approval = get_object_or_404(
        ApprovalRequest.objects.visible_to(request.user).select_related("run"), pk=approval_id
    )
    form = GrantForm(request.POST, prefix=GrantForm.PREFIX)
    if not form.is_valid():
        errors = "; ".join(f"{name}: {' '.join(e)}" for name, e in form.errors.items())
        messages.error(request, f"Nothing was decided or granted: {errors}")
        return _refused(request, back=reverse("approvals:detail", args=[approval.pk]), status=400)
    data = form.cleaned_data
    try:
        made = grants.resolve_with_grant(
            approval=approval, reviewer=request.user, resolution=data["resolution"], scope=data["scope"],
            minutes=data["minutes"], comment=data["comment"],
            deny_reason_id=data["deny_reason"].pk if data["deny_reason"] else None,
        )
    except services.NotAllowed as exc:
        messages.error(request, str(exc))
        return _refused(request, back=reverse("approvals:detail", args=[approval.pk]), status=403)
    except services.ApprovalError as exc:
        messages.error(request, f"Nothing was granted: {exc}")
        return _refused(request, back=reverse("approvals:detail", args=[approval.pk]), status=409)
    messages.success(request, f"{approval.tool}: {data['resolution']}, and grant #{made.pk} {made.effect}s it "
                              f"for {made.scope_text}.")
    return redirect("approvals:detail", approval_id=approval.pk)


def _refused(request, *, back: str, status: int) -> HttpResponse:
    """A refusal keeps its status code (a redirect would hide it); the message says why, the link goes back."""
    return TemplateResponse(request, "approvals/refused.html", {"back": back}, status=status)


@login_required
def grant_list(request) -> HttpResponse:
    """The active grants the user may see, newest first, each with its revoke button for reviewers."""
    active = (Grant.objects.active().visible_to(request.user).annotate(settled=Count("uses"))
              .select_related("granted_by", "actor_user").order_by("-granted_at", "-pk")[:200])
    return TemplateResponse(request, "approvals/grants.html",
                            {"grants": active, "may_revoke": grants.may_revoke(request.user)})


@login_required
@require_POST
def revoke(request, grant_id: int) -> HttpResponse:
    try:
        revoked = grants.revoke_grant(grant_id=grant_id, by=request.user)
    except services.NotAllowed as exc:
        messages.error(request, str(exc))
        return _refused(request, back=reverse("approvals:grants"), status=403)
    if revoked is None:
        messages.info(request, f"Grant #{grant_id} had already ended or been revoked.")
    else:
        messages.success(request, f"Revoked grant #{revoked.pk}: later {revoked.tool} calls go to review again.")
    return redirect("approvals:grants")
