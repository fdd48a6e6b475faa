"""Runs in the admin: read-only history (runs are started from the dashboard, events never edited)."""

from __future__ import annotations

from django.contrib import admin

from .models import Run, RunEvent, ToolExecution


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ("id", "status", "started_by", "model", "created_at")
    list_filter = ("status",)
    search_fields = ("prompt", "final_text")


@admin.register(RunEvent)
class RunEventAdmin(ReadOnlyAdmin):
    list_display = ("run", "seq", "type", "created_at")
    list_filter = ("type",)


@admin.register(ToolExecution)
class ToolExecutionAdmin(ReadOnlyAdmin):
    list_display = ("tool", "call_id", "run", "status", "started_at", "finished_at")
