"""Template context shared by every page: the live pending-approvals count in the nav."""

from __future__ import annotations

from .models import ApprovalRequest


def pending_approvals(request) -> dict[str, int]:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"pending_count": ApprovalRequest.objects.pending().count()}
