"""Admin for agent API keys: create one (its secret shown once, on the page right after saving), list
them with their prefix and last use, revoke them. The secret is never stored, so no later page can show it."""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from .keys import SECRET_PREFIX, issue_secret, revoke_key
from .models import AgentKey


class DomainsField(forms.CharField):
    """A key's domains, typed as a comma- or newline-separated list."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        return [part.strip() for part in re.split(r"[,\n]", super().to_python(value) or "") if part.strip()]


class AgentKeyForm(forms.ModelForm):
    domains = DomainsField(help_text="Comma-separated, e.g. customer_transactions, billing. A request naming "
                                     "another domain is refused (403).")

    class Meta:
        model = AgentKey
        fields = ("name", "actor", "domains", "role", "user", "expires_at")


class RevokedFilter(admin.SimpleListFilter):
    title = "revoked"
    parameter_name = "revoked"

    def lookups(self, request, model_admin):
        return [("no", "Not revoked"), ("yes", "Revoked")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(revoked_at__isnull=self.value() == "no")
        return queryset


@admin.register(AgentKey)
class AgentKeyAdmin(admin.ModelAdmin):
    form = AgentKeyForm
    list_display = ("name", "visible_prefix", "actor", "domain_list", "role", "user", "created_at", "last_used_at",
                    "expires_at", "revoked_at")
    list_filter = ("role", RevokedFilter)
    search_fields = ("name", "actor", "prefix")
    readonly_fields = ("visible_prefix", "created_by", "created_at", "last_used_at", "revoked_at", "revoked_by")
    actions = ["revoke_selected"]

    @admin.display(description="Key", ordering="prefix")
    def visible_prefix(self, obj: AgentKey) -> str:
        return f"{SECRET_PREFIX}{obj.prefix}_…" if obj.prefix else "shown once, after saving"

    @admin.display(description="Domains")
    def domain_list(self, obj: AgentKey) -> str:
        return ", ".join(obj.domains)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def save_model(self, request, obj: AgentKey, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
            obj._new_secret = issue_secret(obj)  # kept on this object only, for the response below
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj: AgentKey, post_url_continue=None):
        secret = getattr(obj, "_new_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        context = {**self.admin_site.each_context(request), "opts": self.opts, "key": obj, "secret": secret,
                   "title": f"The secret of {obj.name}"}
        return TemplateResponse(request, "admin/agents/agentkey/secret_once.html", context)

    @admin.action(description="Revoke the selected keys (they stop working at their next request)")
    def revoke_selected(self, request, queryset) -> None:
        revoked = 0
        for key in queryset:
            if revoke_key(key=key, by=request.user):
                self.log_change(request, key, "Revoked.")
                revoked += 1
        self.message_user(request, f"Revoked {revoked} key(s).", messages.SUCCESS)
