"""Template tags of the approval page's keyboard (static/js/review-keys.js): where j and k go."""

from __future__ import annotations

from django import template

from approvals.models import ApprovalRequest

register = template.Library()


@register.simple_tag(takes_context=True)
def queue_neighbours(context, approval: ApprovalRequest) -> dict:
    """The requests listed after (`next`, older) and before (`previous`, newer) `approval` in the viewer's
    queue, as ids or None. Two small queries."""
    queue = ApprovalRequest.objects.queue_for(context["request"].user)
    return {
        "next": queue.filter(pk__lt=approval.pk).order_by("-pk").values_list("pk", flat=True).first(),
        "previous": queue.filter(pk__gt=approval.pk).order_by("pk").values_list("pk", flat=True).first(),
    }
