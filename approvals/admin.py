"""Approvals in the admin: requests are read-only history; preset deny reasons are editable; sticky grants
are listed and revoked (the action)."""

from __future__ import annotations

from django.contrib import admin, messages

from governance.admin import VisibleRunsAdmin

from . import grants
from .models import ApprovalRequest, DenyReason, Grant
from .services import NotAllowed


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(VisibleRunsAdmin):
    list_display = ("id", "tool", "status", "cause", "run", "resolved_by", "requested_at", "resolved_at")
    list_filter = ("status", "cause", "tool")


@admin.register(DenyReason)
class DenyReasonAdmin(admin.ModelAdmin):
    list_display = ("text", "active", "position")
    list_editable = ("active", "position")


@admin.register(Grant)
class GrantAdmin(admin.ModelAdmin):
    """Sticky grants are made from approval pages (approvals/grants.py); here they are read and revoked."""

    list_display = ("id", "effect", "tool", "scope", "run", "actor", "actor_user", "granted_by", "granted_at",
                    "ends_at", "revoked_at", "revoked_by")
    list_filter = ("effect", "scope", "tool")
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user).select_related(
            "run", "actor_user", "granted_by", "revoked_by")

    @admin.action(description="Revoke the selected grants (at once)")
    def revoke(self, request, queryset) -> None:
        try:
            revoked = [g for g in (grants.revoke_grant(grant_id=pk, by=request.user)
                                   for pk in queryset.values_list("pk", flat=True)) if g is not None]
        except NotAllowed as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
            return
        self.message_user(request, f"Revoked {len(revoked)} grant(s); the others had already ended or been revoked.")
