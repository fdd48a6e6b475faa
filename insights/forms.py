"""The insights page's filters, read from the query string: tool, actor, domain and a range of UTC days."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

from django import forms
from django.utils import timezone

DEFAULT_DAYS = 30
MOST_DAYS = 366


class InsightFilterForm(forms.Form):
    tool = forms.CharField(required=False, max_length=64)
    actor = forms.CharField(required=False, max_length=150)
    domain = forms.CharField(required=False, max_length=100)
    since = forms.DateField(required=False, label="From (UTC day)", input_formats=["%Y-%m-%d"],
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    until = forms.DateField(required=False, label="Until (UTC day, included)", input_formats=["%Y-%m-%d"],
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        until = cleaned.get("until") or timezone.now().date()
        since = cleaned.get("since") or until - timedelta(days=DEFAULT_DAYS - 1)
        if since > until:
            self.add_error("until", "“Until” must be on or after “From”.")
        elif (until - since).days + 1 > MOST_DAYS:
            self.add_error("since", f"The range may cover at most {MOST_DAYS} days.")
        cleaned["since"], cleaned["until"] = since, until
        return cleaned

    def criteria(self) -> dict:
        """The cleaned filters as `insights.figures.compute` takes them (empty texts dropped)."""
        data = self.cleaned_data
        return {"tool": data["tool"], "actor": data["actor"], "domain": data["domain"],
                "since": data["since"], "until": data["until"]}

    def query_string(self) -> str:
        """The filters as typed, without the empty ones (the CSV link carries the same figures)."""
        return urlencode({k: v for k, v in self.data.items() if k in self.fields and v not in ("", None)})

    def error_text(self) -> str:
        return "; ".join(f"{field}: {' '.join(messages)}" if field != "__all__" else " ".join(messages)
                         for field, messages in self.errors.items())


def day_start(day: date) -> str:
    """A day's first minute as the audit page's `since`/`until` take it."""
    return f"{day.isoformat()}T00:00"
