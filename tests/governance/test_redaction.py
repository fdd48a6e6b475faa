"""Redaction of argument fields by dotted path, and scrubbing of secrets from any value."""

from __future__ import annotations

import pytest

from governance.redaction import (
    RedactionPathError,
    parse_paths,
    redact_arguments,
    scrub_secrets,
    unknown_paths,
)

SCHEMA = {"type": "object", "properties": {
    "card_number": {"type": "string"},
    "customer": {"type": "object", "properties": {"email": {"type": "string"}, "name": {"type": "string"}}},
    "items": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}}}},
    "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
}}


def test_paths_reach_nested_objects_and_list_items_and_leave_the_input_alone():
    arguments = {"card_number": "4111111111111111", "customer": {"email": "a@b.c", "name": "Ann"},
                 "items": [{"sku": "x1"}, {"sku": "x2"}], "note": None}
    redacted = redact_arguments(arguments, ["card_number", "customer.email", "items.sku", "missing.path"])
    assert redacted == {"card_number": "[redacted]", "customer": {"email": "[redacted]", "name": "Ann"},
                        "items": [{"sku": "[redacted]"}, {"sku": "[redacted]"}], "note": None}
    assert arguments["card_number"] == "4111111111111111" and arguments["items"][0]["sku"] == "x1"


def test_paths_are_checked_against_the_schema():
    assert unknown_paths(["card_number", "customer.email", "items.sku", "note"], SCHEMA) == []
    assert unknown_paths(["customer.phone", "cvv", "items.price"], SCHEMA) == ["customer.phone", "cvv", "items.price"]


@pytest.mark.parametrize("text", ["card number", "customer..email", "1abc", "a.b-c.$d"])
def test_malformed_paths_are_refused(text):
    with pytest.raises(RedactionPathError):
        parse_paths(text)


def test_secrets_are_scrubbed_in_keys_values_and_text(settings):
    settings.BIGHUB_API_KEY = "configured-bighub-key-1234"
    value = {"headers": {"Authorization": "Bearer abcdefghijklmnopqrstuvwxyz"},
             "sk-abcdefghijklmnopqrstuv": ["key configured-bighub-key-1234 here", 3, None]}
    assert scrub_secrets(value) == {
        "headers": {"Authorization": "[secret]"}, "[secret]": ["key [secret] here", 3, None],
    }


def test_ordinary_words_are_not_taken_for_keys():
    assert scrub_secrets("ask-me about sk-short and bh_12") == "ask-me about sk-short and bh_12"
