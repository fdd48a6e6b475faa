"""Approvals in the admin: requests are read-only history, with the approvals of a quorum's reviewers; preset
deny reasons are editable."""

from __future__ import annotations

from django.contrib import admin

from governance.admin import VisibleRunsAdmin

from .models import ApprovalRequest, ApprovalVote, DenyReason


class ApprovalVoteInline(admin.TabularInline):
    """Who approved a request whose tool needs several approvals (approvals/quorum.py); read-only."""

    model = ApprovalVote
    fields = readonly_fields = ("reviewer", "voted_at", "comment")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(VisibleRunsAdmin):
    list_display = ("id", "tool", "status", "cause", "run", "resolved_by", "requested_at", "resolved_at")
    list_filter = ("status", "cause", "tool")
    inlines = [ApprovalVoteInline]


@admin.register(DenyReason)
class DenyReasonAdmin(admin.ModelAdmin):
    list_display = ("text", "active", "position")
    list_editable = ("active", "position")
