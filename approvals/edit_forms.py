"""The edit form of "Edit, then approve": one field per top-level property of the tool's JSON schema.

`ArgumentsForm` builds its fields from the schema (strings, enums, integers, numbers, booleans; any
other shape as JSON text), prefilled with the call's arguments as shown; a field shown redacted is
read-only. Field types are checked here; the whole against the schema in approvals/edits.py, whose
errors `add_edit_errors` puts on the fields they name. `EditCommentForm` is the reviewer's comment.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms

from governance.form_fields import BoundedTextField

ARGUMENTS_PREFIX = "arg"


class ArgumentsForm(forms.Form):
    def __init__(self, *args: Any, schema: dict[str, Any], shown: dict[str, Any], locked: frozenset[str],
                 **kwargs: Any) -> None:
        kwargs.setdefault("prefix", ARGUMENTS_PREFIX)  # a tool argument may be called "comment"
        super().__init__(*args, **kwargs)
        self.locked = locked
        for name, prop in (schema.get("properties") or {}).items():
            if name in locked:  # shown as text whatever its type: "[redacted]" is no number
                field: forms.Field = forms.CharField(
                    disabled=True, required=False,
                    help_text="Shown redacted, so it cannot be edited: the call keeps its real value.")
                field.initial = shown.get(name) if isinstance(shown.get(name), str) else _json(shown.get(name))
            else:
                field = _field_for(prop if isinstance(prop, dict) else {})
                field.initial = shown.get(name)
            field.label = name
            self.fields[name] = field

    def arguments(self) -> dict[str, Any]:
        """The edited arguments (after `is_valid()`), without the read-only ones; integral numbers as integers."""
        return {name: _number(value) for name, value in self.cleaned_data.items() if name not in self.locked}


class _BooleanChoiceField(forms.TypedChoiceField):
    """true/false as a select (a checkbox cannot tell a reviewer's "false" from nothing sent)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=[("true", "true"), ("false", "false")], coerce=lambda v: v == "true", **kwargs)

    def prepare_value(self, value: Any) -> Any:
        return {True: "true", False: "false"}.get(value, value) if isinstance(value, bool) else value


class EditCommentForm(forms.Form):
    comment = BoundedTextField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000,
                               help_text="Kept with the approval; the model is told what you changed.")


def add_edit_errors(form: forms.Form, errors: dict[str, list[str]]) -> None:
    """Put a service's per-field errors on the form ("" or an unknown name: on the form as a whole)."""
    for name, messages in errors.items():
        for message in messages:
            form.add_error(name if name in form.fields else None, message)


def _field_for(prop: dict[str, Any]) -> forms.Field:
    types = _types(prop)
    nullable = "null" in types
    options = {"required": not nullable, "help_text": str(prop.get("description") or "")}
    enum = prop.get("enum") or next((p["enum"] for p in prop.get("anyOf", []) if isinstance(p, dict)
                                     and "enum" in p), None)
    if enum and all(isinstance(v, str) for v in enum):
        choices = [(v, v) for v in enum]
        return forms.TypedChoiceField(choices=([("", "(none)")] if nullable else []) + choices,
                                      empty_value=None, **options)
    kind = next((t for t in ("string", "integer", "number", "boolean") if t in types), None)
    if kind == "string" and len(types - {"null"}) == 1:  # an empty string is a string: the schema decides
        return forms.CharField(strip=False, empty_value=None if nullable else "", **{**options, "required": False})
    if kind == "integer" and len(types - {"null"}) == 1:
        return forms.IntegerField(**options)
    if kind == "number" and len(types - {"null", "integer"}) == 1:
        return forms.FloatField(**options)
    if kind == "boolean" and len(types - {"null"}) == 1:
        return _BooleanChoiceField(**options)
    return forms.JSONField(widget=forms.Textarea(attrs={"rows": 3}), **{
        **options, "required": False, "help_text": (options["help_text"] + " (as JSON)").strip()})


def _types(prop: dict[str, Any]) -> set[str]:
    declared = prop.get("type")
    types = {declared} if isinstance(declared, str) else set(declared or [])
    for option in prop.get("anyOf", []):
        if isinstance(option, dict):
            types |= _types(option)
    return types


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
