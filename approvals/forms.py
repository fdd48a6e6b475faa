"""The reviewer's approve/deny form (a decision, a preset reason or a comment: a denial needs one of
them), the queue's filters and batch bar (approvals/batch.py does the work), and the kill switch's
pause button."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.db.models import Q

from governance.form_fields import BoundedTextField
from governance.models import PauseScope

from .models import ApprovalRequestQuerySet, DenyReason

DENY_NEEDS_REASON = "A denial needs a reason: choose a preset reason or write one in the comment."
BATCH_MAX = 500


def _require_deny_reason(form: forms.Form, cleaned: dict) -> None:
    """A denial is sent to the model with its reason: a preset or a comment, never nothing."""
    if cleaned.get("resolution") == "denied" and not cleaned.get("deny_reason") and not cleaned.get("comment"):
        form.add_error("deny_reason", DENY_NEEDS_REASON)


class ResolveForm(forms.Form):
    resolution = forms.ChoiceField(choices=[("approved", "Approve"), ("denied", "Deny")])
    deny_reason = forms.ModelChoiceField(queryset=DenyReason.objects.filter(active=True), required=False,
                                         empty_label="(no preset reason)")
    comment = BoundedTextField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000,
                               help_text="Sent to the model with a denial.")

    def clean(self) -> dict:
        cleaned = super().clean()
        _require_deny_reason(self, cleaned)
        return cleaned


class QueueFilterForm(forms.Form):
    """The queue's filters, from the page's query string (and its socket's, and the batch bar's fields)."""

    tool = forms.CharField(required=False, max_length=64)
    run = forms.RegexField(required=False, regex=r"^[0-9a-fA-F-]{1,36}$", max_length=36, label="Run id",
                           error_messages={"invalid": "A run id is hexadecimal digits (its first 8 will do)."},
                           help_text="Its first characters will do.")
    requester = forms.CharField(required=False, max_length=150, label="Requested by",
                                help_text="Who started the run, or the remote agent's key name.")

    def filter(self, approvals: ApprovalRequestQuerySet) -> ApprovalRequestQuerySet:
        """`approvals` narrowed to the valid filters (call `is_valid()` first)."""
        data = self.cleaned_data
        if data["tool"]:
            approvals = approvals.filter(tool=data["tool"])
        if data["run"]:
            approvals = approvals.filter(run__id__istartswith=data["run"])
        if data["requester"]:
            approvals = approvals.filter(Q(run__started_by__username=data["requester"])
                                         | Q(run__agent=data["requester"]))
        return approvals

    def query_string(self) -> str:
        """The filters given, without the empty ones: the page's address and its socket's."""
        return urlencode({name: self.data[name] for name in self.fields if self.data.get(name)})


class ApprovalIdsField(forms.Field):
    """The ticked rows of the queue: request ids (at most BATCH_MAX), in the order given, without repeats."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        try:
            ids = list(dict.fromkeys(int(v) for v in values))
        except (TypeError, ValueError):
            raise forms.ValidationError("Request ids are whole numbers.", code="invalid") from None
        if len(ids) > BATCH_MAX:
            raise forms.ValidationError(f"At most {BATCH_MAX} requests at once.", code="too_many")
        return ids


class BatchForm(forms.Form):
    """The queue's batch bar: one decision and one comment for the ticked requests, or for all that match
    the queue's filters."""

    resolution = forms.ChoiceField(choices=[("approved", "Approve"), ("denied", "Deny")])
    approval = ApprovalIdsField(required=False)
    matching = forms.BooleanField(required=False, label="All requests matching the filters")
    upto = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput,
                              help_text="The newest request the page showed: 'all matching' stops there.")
    deny_reason = forms.ModelChoiceField(queryset=DenyReason.objects.filter(active=True), required=False,
                                         empty_label="(no preset reason)", label="Reason (for a denial)")
    comment = BoundedTextField(widget=forms.Textarea(attrs={"rows": 1}), required=False, max_length=2000,
                               help_text="One comment for every request; sent to the model with a denial.")

    def clean(self) -> dict:
        cleaned = super().clean()
        if not cleaned.get("matching") and not cleaned.get("approval") and "approval" not in self.errors:
            self.add_error(None, "Nothing was selected: tick requests, or all that match the filters.")
        if cleaned.get("matching") and cleaned.get("upto") is None and "upto" not in self.errors:
            self.add_error(None, "The page did not say which requests it showed: reload it and try again.")
        _require_deny_reason(self, cleaned)
        return cleaned


class PauseForm(forms.Form):
    """The kill switch's button: what to pause (governance/pauses.py checks the rest)."""

    scope = forms.ChoiceField(choices=PauseScope.choices)
    value = forms.CharField(max_length=150, required=False)
