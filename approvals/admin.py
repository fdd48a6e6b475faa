"""Approvals in the admin: requests are read-only history; preset deny reasons are editable."""

from __future__ import annotations

from django.contrib import admin

from governance.admin import VisibleRunsAdmin

from .models import ApprovalRequest, DenyReason


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(VisibleRunsAdmin):
    list_display = ("id", "tool", "status", "cause", "run", "resolved_by", "requested_at", "resolved_at")
    list_filter = ("status", "cause", "tool")


@admin.register(DenyReason)
class DenyReasonAdmin(admin.ModelAdmin):
    list_display = ("text", "active", "position")
    list_editable = ("active", "position")
