"""The start-a-run form. Validation of the run itself lives in `runs.commands.start_run`."""

from __future__ import annotations

from django import forms
from django.conf import settings

from governance.form_fields import BoundedTextField
from governance.model_names import MAX_MODEL_NAME_CHARS, any_model_allowed, offered_models, offered_models_error
from governance.models import ToolRegistration


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
