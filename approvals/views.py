"""Approval pages: the live queue (filtered, with its batch bar; the work is approvals/batch.py) and one
request's page (its context from approvals/context.py, approve/deny); the kill switch's pause and resume
buttons (on the queue and the run page; the work is governance/pauses.py)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from governance import pauses

from . import batch, quorum, services
from .context import next_to_decide, review_context
from .forms import BatchForm, PauseForm, QueueFilterForm, ResolveForm
from .models import ApprovalRequest

BATCH_RESULT = "approvals_batch_result"  # the session key that carries a batch's outcomes to the queue


@login_required
def queue(request) -> HttpResponse:
    filters = QueueFilterForm(request.GET)
    if request.htmx:
        return TemplateResponse(request, "approvals/queue.html#approval-rows", _rows(request, filters))
    return _queue_page(request, filters, BatchForm(), batch_result=request.session.pop(BATCH_RESULT, None))


@login_required
@require_POST
def batch_resolve(request) -> HttpResponse:
    """The batch bar: resolve each chosen request on its own, then show the queue with what became of each."""
    filters, form = QueueFilterForm(request.POST), BatchForm(request.POST)
    if not all([filters.is_valid(), form.is_valid()]):  # both, so that both show their errors
        return _queue_page(request, filters, form, status=400)
    data = form.cleaned_data
    if data["matching"]:
        ids = batch.matching_ids(filters.filter(ApprovalRequest.objects.queue_for(request.user)), upto=data["upto"])
    else:
        ids = data["approval"]
    reason = data["deny_reason"]
    outcomes = batch.resolve_many(approval_ids=ids, reviewer=request.user, resolution=data["resolution"],
                                  comment=data["comment"], deny_reason_id=reason.pk if reason else None)
    request.session[BATCH_RESULT] = batch.summary(data["resolution"], outcomes)
    query = filters.query_string()
    return redirect(reverse("approvals:queue") + (f"?{query}" if query else ""))


def _rows(request, filters: QueueFilterForm) -> dict:
    if not filters.is_valid():
        return {"approvals": [], "matching_count": 0, "newest_id": None}
    return batch.listing(filters.filter(ApprovalRequest.objects.queue_for(request.user)))


def _queue_page(request, filters: QueueFilterForm, form: BatchForm, *, status: int = 200,
                batch_result: dict | None = None) -> HttpResponse:
    """The queue with its filters, batch bar (as posted, when it had errors: nothing is lost) and the
    last batch's outcomes."""
    rows = _rows(request, filters)
    rows["approvals"] = list(rows["approvals"])
    selected = set(getattr(form, "cleaned_data", {}).get("approval") or [])
    context = {**rows, "filters": filters, "batch_form": form, "selected": selected, "batch_result": batch_result,
               "queued_tools": sorted({a.tool for a in rows["approvals"]}), **pauses.shown_to(request.user)}
    return TemplateResponse(request, "approvals/queue.html", context,
                            status=status if filters.is_valid() else 400)


@login_required
@require_POST
def pause(request) -> HttpResponse:
    """Pause what the button names, then back to the page it was on."""
    form = PauseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Nothing was paused: the button named no tool, actor, domain or everything.")
        return _back(request, status=400)
    try:
        paused, new = pauses.pause(scope=form.cleaned_data["scope"], value=form.cleaned_data["value"],
                                   by=request.user)
    except pauses.NotAllowed as exc:
        messages.error(request, str(exc))
        return _back(request, status=403)
    except pauses.PauseError as exc:
        messages.error(request, f"Nothing was paused: {exc}.")
        return _back(request, status=400)
    messages.success(request, f"Paused {paused.what}: its new calls are blocked." if new else
                     f"{paused.what.capitalize()} was already paused by {paused.paused_by_name}.")
    return _back(request)


@login_required
@require_POST
def resume(request, pause_id: int) -> HttpResponse:
    try:
        resumed = pauses.resume(pause_id=pause_id, by=request.user)
    except pauses.NotAllowed as exc:
        messages.error(request, str(exc))
        return _back(request, status=403)
    if resumed is None:
        messages.info(request, "That pause had already ended.")
    else:
        messages.success(request, f"Resumed {resumed.what}: its calls are decided by policy again.")
    return _back(request)


def _back(request, *, status: int = 302) -> HttpResponse:
    """To the page the button was on (`next`, a path on this site), else the queue; a refusal is shown there
    with its status code (a redirect would hide it)."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = reverse("approvals:queue")
    if status == 302:
        return redirect(target)
    return TemplateResponse(request, "approvals/refused.html", {"back": target}, status=status)


@login_required
def detail(request, approval_id: int) -> HttpResponse:
    """The request with what a reviewer needs to decide it (approvals/context.py), live over the run's
    socket; after a decision, on to the next request the reviewer may decide, else the queue."""
    approval = get_object_or_404(
        ApprovalRequest.objects.visible_to(request.user)
        .select_related("run", "run__started_by", "run__cancelled_by", "resolved_by").with_observe_only(),
        pk=approval_id
    )
    form = ResolveForm(request.POST if request.method == "POST" else None)  # an empty POST shows its errors
    status = 200
    if request.method == "POST":
        if form.is_valid():
            reason = form.cleaned_data["deny_reason"]
            try:
                resolved = services.resolve_approval(
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
                messages.success(request, quorum.counted(resolved) if resolved.is_pending
                                 else f"{approval.tool}: {form.cleaned_data['resolution']}.")
                return _to_next(request, approval)
        else:
            status = 400
        approval.refresh_from_db()
    context = {**review_context(approval, request.user), "form": form}
    return TemplateResponse(request, "approvals/detail.html", context, status=status)


def _to_next(request, decided: ApprovalRequest) -> HttpResponse:
    following = next_to_decide(request.user, after=decided)
    if following is None:
        messages.info(request, "Nothing else is waiting for your decision.")
        return redirect("approvals:queue")
    return redirect("approvals:detail", approval_id=following.pk)
