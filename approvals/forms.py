"""The reviewer's approve/deny form (a decision, an optional preset reason, a comment) and the kill
switch's pause button."""

from __future__ import annotations

from django import forms

from governance.form_fields import BoundedTextField
from governance.models import PauseScope

from .models import DenyReason


class ResolveForm(forms.Form):
    resolution = forms.ChoiceField(choices=[("approved", "Approve"), ("denied", "Deny")])
    deny_reason = forms.ModelChoiceField(queryset=DenyReason.objects.filter(active=True), required=False,
                                         empty_label="(no preset reason)")
    comment = BoundedTextField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000,
                               help_text="Sent to the model with a denial.")


class PauseForm(forms.Form):
    """The kill switch's button: what to pause (governance/pauses.py checks the rest)."""

    scope = forms.ChoiceField(choices=PauseScope.choices)
    value = forms.CharField(max_length=150, required=False)
