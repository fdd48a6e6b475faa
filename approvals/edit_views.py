"""The "Edit, then approve" page of one approval request: the edit form, and its submit (the work is
approvals/edits.py). A refused or invalid submit shows the form again with what was typed."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse

from governance import permissions

from . import edits, services
from .edit_forms import ArgumentsForm, EditCommentForm, add_edit_errors
from .models import ApprovalRequest


@login_required
def edit(request, approval_id: int) -> HttpResponse:
    approval = get_object_or_404(
        ApprovalRequest.objects.visible_to(request.user).select_related("run", "resolved_by"), pk=approval_id
    )
    if not approval.is_pending:
        messages.info(request, f"This request is already {approval.outcome}; it can no longer be edited.")
        return redirect("approvals:detail", approval_id=approval.pk)
    if not permissions.may_resolve(request.user, approval):
        messages.error(request, "Only reviewers may edit and approve a call, and not for runs they started.")
        return redirect("approvals:detail", approval_id=approval.pk)
    context = {"approval": approval}
    try:
        setup = edits.edit_setup(approval)
    except edits.EditRefused as exc:
        return TemplateResponse(request, "approvals/edit.html", {**context, "refused": str(exc)}, status=409)
    data = request.POST if request.method == "POST" else None
    form = ArgumentsForm(data, schema=setup.schema, shown=approval.arguments, locked=setup.locked)
    comment_form = EditCommentForm(data)
    status = 200
    if data is not None:
        status = 400
        if form.is_valid() and comment_form.is_valid():
            try:
                _, applied = edits.approve_edited(approval=approval, reviewer=request.user, setup=setup,
                                                  arguments=form.arguments(),
                                                  comment=comment_form.cleaned_data["comment"])
            except edits.EditInvalid as exc:
                add_edit_errors(form, exc.errors)
            except services.NotAllowed as exc:
                messages.error(request, str(exc))
                status = 403
            except services.ApprovalError as exc:  # refused by policy, or resolved meanwhile
                messages.error(request, str(exc))
                status = 409
            else:
                changed = "; ".join(str(c) for c in applied.changes)
                messages.success(request, f"{approval.tool}: approved with your edit ({changed}).")
                return redirect("approvals:detail", approval_id=approval.pk)
    return TemplateResponse(request, "approvals/edit.html",
                            {**context, "form": form, "comment_form": comment_form}, status=status)
