"""The audit history in the admin: readable and searchable, never added to, changed or deleted."""

from __future__ import annotations

from django.contrib import admin

from governance.admin import ReadOnlyAdmin

from .models import AuditRecord


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin):
    list_display = ("seq", "occurred_at", "kind", "decision", "tool", "actor", "reviewer", "run_id")
    list_filter = ("kind", "decision")
    search_fields = ("tool", "reviewer", "actor", "call_id")
    show_full_result_count = False  # no COUNT(*) over a million rows on every page
