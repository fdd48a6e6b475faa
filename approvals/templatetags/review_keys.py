"""Template tags of the approval page's keyboard (static/js/review-keys.js): where j and k go."""

from __future__ import annotations

from django import template
from django.db.models import Q

from approvals.models import ApprovalRequest

register = template.Library()


@register.simple_tag(takes_context=True)
def queue_neighbours(context, approval: ApprovalRequest) -> dict:
    """The requests listed after (`next`, older) and before (`previous`, newer) `approval` in the viewer's
    queue, as ids or None. One query (both neighbours as subqueries)."""
    queue = ApprovalRequest.objects.queue_for(context["request"].user)
    older = queue.filter(pk__lt=approval.pk).order_by("-pk").values("pk")[:1]
    newer = queue.filter(pk__gt=approval.pk).order_by("pk").values("pk")[:1]
    found = ApprovalRequest.objects.filter(Q(pk__in=older) | Q(pk__in=newer)).values_list("pk", flat=True)
    around = {"next": None, "previous": None}
    for pk in found:
        around["next" if pk < approval.pk else "previous"] = pk
    return around
