"""Webhook endpoints in the admin (the secret is typed, never shown back), and the delivery log, read-only."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from .events import EventKind
from .models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint

MIN_SECRET_LENGTH = 16


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https",
                         help_text="Where the events are POSTed (https:// in production).")
    secret = forms.CharField(
        required=False, strip=True, widget=forms.PasswordInput(render_value=False),
        help_text=f"At least {MIN_SECRET_LENGTH} characters, shared with the receiver, which checks each body's "
        "signature with it (docs/notifications.md). Never shown again; leave empty to keep the current one.",
    )
    events = forms.MultipleChoiceField(choices=EventKind.choices, widget=forms.CheckboxSelectMultiple,
                                       help_text="Reminder and escalation are sent once the Deadlines feature "
                                                 "exists.")

    class Meta:
        model = WebhookEndpoint
        fields = ("name", "url", "secret", "events", "active", "slack_format")

    def clean_secret(self) -> str:
        secret = self.cleaned_data["secret"]
        if not secret and self.instance.pk is not None:
            return self.instance.secret
        if len(secret) < MIN_SECRET_LENGTH:
            raise forms.ValidationError(f"Give a secret of at least {MIN_SECRET_LENGTH} characters.")
        return secret


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("name", "host", "event_list", "active", "slack_format", "created_at")
    list_filter = ("active",)

    @admin.display(description="Events")
    def event_list(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.events)


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ("number", "attempted_at", "status_code", "error", "duration_ms", "next_retry_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: each event sent to an endpoint, and below it every attempt."""

    list_display = ("created_at", "endpoint", "event", "approval_id", "status", "attempts", "next_attempt_at")
    list_filter = ("status", "event", "endpoint")
    fields = ("id", "endpoint", "event", "approval_id", "status", "attempts", "created_at", "next_attempt_at",
              "finished_at", "body")
    readonly_fields = fields
    inlines = [DeliveryAttemptInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
