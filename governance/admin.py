"""Admin for tool registrations, policies and domain defaults (validation lives on the models), and the
read-only bases the history admins use (runs, approvals, audit)."""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html

from . import permissions
from .models import DomainDefault, Policy, ToolRegistration


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
    fields = ("name", "callable_path", "description", "enabled", "domain", "actor", "decision_mode",
              "value_argument", "target_argument", "approve_above", "block_above", "redact_fields", "schema_override",
              "generated_schema")

    @admin.display(description="Generated schema")
    def generated_schema(self, obj: ToolRegistration) -> str:
        if not obj.schema:
            return "Generated from the function's signature when the tool is saved."
        return format_html("<pre>{}</pre>", json.dumps(obj.schema, indent=2))


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
