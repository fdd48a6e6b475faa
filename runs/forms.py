"""The start-a-run form (validation of the run itself lives in `runs.commands.start_run`), and the runs
list's filters, read from the query string of the page and of its dashboard socket."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.conf import settings

from governance.form_fields import BoundedTextField
from governance.model_names import MAX_MODEL_NAME_CHARS, any_model_allowed, offered_models, offered_models_error
from governance.models import ToolRegistration

from .models import CallsOutcome, RunOrigin, RunQuerySet


class StartRunForm(forms.Form):
    prompt = BoundedTextField(widget=forms.Textarea(attrs={"rows": 4}), max_length=settings.GOVERNANCE_MAX_PROMPT_CHARS,
                              help_text="What the agent should do, e.g. “Refund order ord_123 for 250”.")
    model = forms.CharField(max_length=MAX_MODEL_NAME_CHARS)
    tools = forms.ModelMultipleChoiceField(
        queryset=ToolRegistration.objects.filter(enabled=True), to_field_name="name",
        widget=forms.CheckboxSelectMultiple, help_text="The tools the agent may propose calls to.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Built per form from the settings, so a changed list takes effect without a restart.
        self.model_suggestions = offered_models()
        if any_model_allowed():
            self.fields["model"].initial = self.model_suggestions[0]
            self.fields["model"].widget.attrs["list"] = "model-options"
            self.fields["model"].help_text = "Any model name; the list only suggests."
        else:
            self.fields["model"] = forms.ChoiceField(
                choices=[(m, m) for m in self.model_suggestions], initial=self.model_suggestions[0],
                error_messages={"invalid_choice": offered_models_error()},
            )
            self.model_suggestions = []


class RunFilterForm(forms.Form):
    origin = forms.ChoiceField(required=False, choices=[("", "any"), *RunOrigin.choices], label="Started by")
    outcome = forms.ChoiceField(required=False, choices=[("", "any"), *CallsOutcome.choices], label="Calls")

    def filter(self, runs: RunQuerySet) -> RunQuerySet:
        """`runs` narrowed to the valid filters (call `is_valid()` first)."""
        return runs.with_origin(self.cleaned_data["origin"]).with_outcome(self.cleaned_data["outcome"])

    def query_string(self) -> str:
        """The filters given, without the empty ones: the page's address and its socket's."""
        return urlencode({name: self.data[name] for name in self.fields if self.data.get(name)})
