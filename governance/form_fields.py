"""Form fields the apps' forms share (imported from here, the bottom of the layer order).

`BoundedTextField`: a CharField whose form, when re-rendered with an error, never echoes back a
huge input: what the user typed is shown whole up to twice the limit (they shorten it themselves;
nothing is lost), and cut to the limit beyond that (a 1 MB paste is not a prompt), with the error
saying so. Only the re-rendered value is cut; validation always sees everything that was sent.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

ECHO_FACTOR = 2


class BoundedTextField(forms.CharField):
    def __init__(self, *, max_length: int, **kwargs: Any) -> None:
        super().__init__(max_length=max_length, **kwargs)

    def _too_long_to_echo(self, value: Any) -> bool:
        return isinstance(value, str) and len(value) > ECHO_FACTOR * self.max_length

    def bound_data(self, data: Any, initial: Any) -> Any:
        return data[: self.max_length] if self._too_long_to_echo(data) else super().bound_data(data, initial)

    def clean(self, value: Any) -> Any:
        try:
            return super().clean(value)
        except ValidationError as exc:
            if not self._too_long_to_echo(value):
                raise
            cut = ValidationError(f"It is too long to show back whole: only its first {self.max_length} characters "
                                  "are kept below.", code="cut")
            raise ValidationError([*exc.error_list, cut]) from exc
