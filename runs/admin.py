"""Runs in the admin: read-only history (runs are started from the dashboard, events never edited),
showing an admin user the runs the dashboard would show them."""

from __future__ import annotations

from django.contrib import admin

from governance.admin import VisibleRunsAdmin

from .models import Run, RunEvent, ToolExecution


@admin.register(Run)
class RunAdmin(VisibleRunsAdmin):
    run_path = ""
    list_display = ("id", "outcome", "origin", "started_by", "agent", "model", "recoveries", "retry_of", "created_at")
    list_filter = ("status", "origin")
    search_fields = ("prompt", "final_text", "agent", "actor", "session")


@admin.register(RunEvent)
class RunEventAdmin(VisibleRunsAdmin):
    list_display = ("run", "seq", "type", "created_at")
    list_filter = ("type",)


@admin.register(ToolExecution)
class ToolExecutionAdmin(VisibleRunsAdmin):
    list_display = ("tool", "call_id", "run", "status", "started_at", "finished_at")
