"""The start-a-run form. Validation of the run itself lives in `runs.commands.start_run`."""

from __future__ import annotations

from django import forms
from django.conf import settings

from governance.models import ToolRegistration


class StartRunForm(forms.Form):
    prompt = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=settings.GOVERNANCE_MAX_PROMPT_CHARS,
                             help_text="What the agent should do, e.g. “Refund order ord_123 for 250”.")
    model = forms.CharField(initial="gpt-4.1", max_length=100)
    tools = forms.ModelMultipleChoiceField(
        queryset=ToolRegistration.objects.filter(enabled=True), to_field_name="name",
        widget=forms.CheckboxSelectMultiple, help_text="The tools the agent may propose calls to.",
    )
