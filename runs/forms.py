"""The start-a-run form (validation of the run itself lives in `runs.commands.start_run`), and the runs
list's filters, read from the query string of the page and of its dashboard socket."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.conf import settings

from governance.form_fields import BoundedTextField
from governance.model_names import MAX_MODEL_NAME_CHARS, any_model_allowed, offered_models, offered_models_error
from governance.models import ToolRegistration

from .models import CallsOutcome, RunOrigin, RunStatus


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
    """The runs list's filters and page (runs/listing.py applies them); every field may be left empty."""

    q = forms.CharField(required=False, max_length=200, label="Prompt contains",
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "e.g. ord_123"}))
    status = forms.ChoiceField(required=False, choices=[("", "any"), *RunStatus.choices])
    outcome = forms.ChoiceField(required=False, choices=[("", "any"), *CallsOutcome.choices], label="Calls")
    tool = forms.ModelChoiceField(required=False, queryset=ToolRegistration.objects.only("name"),
                                  to_field_name="name", empty_label="any",
                                  error_messages={"invalid_choice": "There is no tool by that name."})
    origin = forms.ChoiceField(required=False, choices=[("", "any"), *RunOrigin.choices], label="Started from")
    user = forms.CharField(required=False, max_length=150, label="Started by",
                           help_text="A username, or a remote agent's key name.")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}),
                            error_messages={"invalid": "Enter a date as YYYY-MM-DD."})
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}),
                            error_messages={"invalid": "Enter a date as YYYY-MM-DD."})
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput,
                              error_messages={"invalid": "The page must be a whole number."})

    def clean(self) -> dict:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", f"“To” ({until}) is before “From” ({since}).")
        if cleaned.get("tool") is not None:
            cleaned["tool"] = cleaned["tool"].name
        return cleaned

    def query_string(self, *, without: tuple[str, ...] = ()) -> str:
        """The filters given, without the empty ones (nor those named in `without`): the page's address
        and its socket's."""
        return urlencode({name: self.data[name] for name in self.fields
                          if self.data.get(name) and name not in without})
