"""Runs in the admin: read-only history (runs are started from the dashboard, events never edited)."""

from __future__ import annotations

from django.contrib import admin

from governance.admin import ReadOnlyAdmin

from .models import Run, RunEvent, ToolExecution


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
