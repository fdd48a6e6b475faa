"""The audit page's filters, read from the query string (so a filtered view is a shareable URL)."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms

from .models import AuditDecision, AuditKind

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


class AuditFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Text",
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "words in arguments, "
                                                      "outputs, reasons, comments, configuration"}))
    tool = forms.CharField(required=False, max_length=64)
    actor = forms.CharField(required=False, max_length=150)
    domain = forms.CharField(required=False, max_length=100)
    decision = forms.ChoiceField(required=False, choices=[("", "any"), *AuditDecision.choices])
    kind = forms.ChoiceField(required=False, choices=[("", "any"), *AuditKind.choices], label="Record")
    reviewer = forms.CharField(required=False, max_length=150)
    run = forms.UUIDField(required=False, label="Run id")
    since = forms.DateTimeField(required=False, input_formats=DATETIME_FORMATS, label="From (UTC)",
                                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    until = forms.DateTimeField(required=False, input_formats=DATETIME_FORMATS, label="Until (UTC)",
                                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since >= until:
            self.add_error("until", "“Until” must be after “From”.")
        return cleaned

    def criteria(self) -> dict:
        """The cleaned filters as `audit.search.filtered` takes them."""
        data = dict(self.cleaned_data)
        data["run_id"] = data.pop("run", None)
        data.pop("before", None)
        return data

    def query_string(self, **changes) -> str:
        """This form's filters as a query string, with `changes` applied (None removes a key)."""
        params = {k: v for k, v in self.data.items() if v not in ("", None)}
        for key, value in changes.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = value
        return urlencode(params)
