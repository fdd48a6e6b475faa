"""The approval page's "... and for later calls too" form: a resolution with a sticky grant's scope."""

from __future__ import annotations

from django import forms

from .forms import ResolveForm
from .grants import MAX_GRANT_MINUTES
from .models import GrantScope


class GrantForm(ResolveForm):
    """Resolve the request and grant the same for later calls of its tool: for the rest of the run, or for
    the run's actor for `minutes` (required then). Its fields are named with PREFIX ("grant-comment"), apart
    from the approve/deny form's on the same page."""

    PREFIX = "grant"

    scope = forms.ChoiceField(choices=GrantScope.choices)
    minutes = forms.IntegerField(min_value=1, max_value=MAX_GRANT_MINUTES, required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("scope") == GrantScope.ACTOR and cleaned.get("minutes") is None:
            self.add_error("minutes", "Say for how many minutes this actor's calls are granted.")
        return cleaned
