"""Template context shared by every page: what the nav shows this user.

The pending count is the length of the user's approvals queue (the same queryset), so the nav never
promises requests the queue does not list; the audit link is offered to whoever may read the audit.
"""

from __future__ import annotations

from governance import permissions

from .models import ApprovalRequest


def nav(request) -> dict[str, object]:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {
        "pending_count": ApprovalRequest.objects.queue_for(request.user).count(),
        "may_see_audit": permissions.may_see_audit(request.user),
    }
