"""Admin for tool registrations, policies and domain defaults (validation lives on the models), the kill
switch's pauses (made and resumed through governance/pauses.py), and the read-only bases the history
admins use (runs, approvals, audit)."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from . import pauses, permissions
from .models import DomainDefault, Pause, PauseScope, Policy, ToolRegistration


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is read, never added to, changed or deleted through the admin."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class VisibleRunsAdmin(ReadOnlyAdmin):
    """History of runs, showing an admin user only the runs the dashboard shows them (permissions)."""

    run_path = "run__"  # from the listed model to its run; "" for runs themselves

    def get_queryset(self, request):
        return super().get_queryset(request).filter(permissions.visible_runs(request.user, through=self.run_path))


@admin.register(ToolRegistration)
class ToolRegistrationAdmin(admin.ModelAdmin):
    list_display = ("name", "callable_path", "domain", "approve_above", "block_above", "enabled")
    list_filter = ("enabled", "domain", "decision_mode")
    search_fields = ("name", "callable_path", "description")
    readonly_fields = ("generated_schema",)
    actions = ["pause_tools"]
    fields = ("name", "callable_path", "description", "enabled", "domain", "actor", "decision_mode",
              "value_argument", "target_argument", "approve_above", "block_above", "redact_fields", "schema_override",
              "generated_schema", "approval_window_seconds", "escalation_group")

    @admin.display(description="Generated schema")
    def generated_schema(self, obj: ToolRegistration) -> str:
        if not obj.schema:
            return "Generated from the function's signature when the tool is saved."
        return format_html("<pre>{}</pre>", json.dumps(obj.schema, indent=2))


    @admin.action(description="Pause the selected tools (their new calls are blocked)", permissions=["pause"])
    def pause_tools(self, request, queryset) -> None:
        for tool in queryset:
            pauses.pause(scope=PauseScope.TOOL, value=tool.name, by=request.user)
        self.message_user(request, f"Paused: {', '.join(t.name for t in queryset)}.", messages.SUCCESS)

    def has_pause_permission(self, request) -> bool:
        return permissions.may_pause(request.user)


@admin.register(Pause)
class PauseAdmin(admin.ModelAdmin):
    """The kill switch: add a pause (one form), resume with the action; a pause is never edited or deleted,
    so its history stays (and is in the audit history)."""

    list_display = ("__str__", "paused_by_name", "paused_at", "resumed_by_name", "resumed_at")
    list_filter = (("resumed_at", admin.EmptyFieldListFilter), "scope")
    fields = ("scope", "value")
    actions = ["resume_pauses"]

    def has_view_permission(self, request, obj=None) -> bool:
        return permissions.may_pause(request.user) or super().has_view_permission(request, obj)

    def has_add_permission(self, request) -> bool:
        return permissions.may_pause(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_pause_permission(self, request) -> bool:
        return permissions.may_pause(request.user)

    def save_model(self, request, obj, form, change) -> None:
        paused, _ = pauses.pause(scope=obj.scope, value=obj.value, by=request.user)
        obj.pk = paused.pk  # the admin's "added" message and log entry name the pause in force

    @admin.action(description="Resume the selected pauses", permissions=["pause"])
    def resume_pauses(self, request, queryset) -> None:
        resumed = [p for p in queryset if pauses.resume(pause_id=p.pk, by=request.user) is not None]
        self.message_user(request, f"Resumed: {', '.join(p.what for p in resumed) or 'nothing (already ended)'}.",
                          messages.SUCCESS)


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "enabled", "updated_at")
    list_filter = ("enabled",)
    search_fields = ("name", "cedar", "description")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "cedar":
            field.widget.attrs.update({"rows": 16, "style": "font-family: monospace; width: 60em"})
        return field


@admin.register(DomainDefault)
class DomainDefaultAdmin(admin.ModelAdmin):
    list_display = ("domain", "outcome")
