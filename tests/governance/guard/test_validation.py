"""Parsing a function call's `arguments` string: readable reasons for every way it can be unusable."""

import copy

import pytest

from governance.guard.errors import ToolArgumentsError
from governance.guard.validation import (
    compiled_validator,
    json_path,
    parse_tool_arguments,
    validate_arguments,
)

SCHEMA = {
    "type": "object",
    "properties": {
        "amount": {"type": "number"},
        "kind": {"anyOf": [{"type": "string", "enum": ["full", "partial"]}, {"type": "null"}]},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"sku": {"type": "string"}},
                "required": ["sku"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["amount", "kind", "items"],
    "additionalProperties": False,
}
EMPTY = {"type": "object", "properties": {}, "required": [], "additionalProperties": False}


def reason_for(raw, schema=SCHEMA, **options) -> str:
    with pytest.raises(ToolArgumentsError) as error:
        parse_tool_arguments(raw, schema, **options)
    assert str(error.value) == error.value.reason
    return error.value.reason


def test_parse_tool_arguments_valid_returns_dict():
    raw = '{"amount": 19.99, "kind": null, "items": [{"sku": "a"}]}'

    assert parse_tool_arguments(raw, SCHEMA) == {"amount": 19.99, "kind": None, "items": [{"sku": "a"}]}


def test_parse_tool_arguments_malformed_json_says_line_and_column():
    assert reason_for('{"amount": 1,,}') == (
        "malformed JSON at line 1, column 14: Expecting property name enclosed in double quotes"
    )
    assert reason_for('{\n  "amount": 1\n  "kind": null}') == (
        "malformed JSON at line 3, column 3: Expecting ',' delimiter"
    )
    assert reason_for('{"amount": 1') == "malformed JSON at line 1, column 13: Expecting ',' delimiter"


def test_parse_tool_arguments_duplicate_key_is_malformed():
    assert (
        reason_for('{"amount": 1, "amount": 9999}') == "malformed JSON: key 'amount' appears more than once"
    )


def test_parse_tool_arguments_nan_is_malformed():
    assert reason_for('{"amount": NaN}') == "malformed JSON: NaN is not a JSON value"


def test_parse_tool_arguments_deep_nesting_is_malformed():
    assert reason_for("[" * 50_000) == "malformed JSON: nested too deeply"


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("[1, 2]", "an array"),
        ('"text"', "a string"),
        ("3.5", "a number"),
        ("true", "a boolean"),
        ("null", "null"),
    ],
)
def test_parse_tool_arguments_not_an_object(raw, kind):
    assert reason_for(raw) == f"expected a JSON object, got {kind}"


def test_parse_tool_arguments_too_large_says_size_and_limit():
    raw = '{"amount": 1, "kind": null, "items": [], "pad": "' + "x" * 100 + '"}'

    assert reason_for(raw, max_bytes=100) == f"arguments are {len(raw)} bytes, over the 100-byte limit"


def test_parse_tool_arguments_size_is_counted_in_utf8_bytes():
    raw = '"' + "é" * 40_000 + '"'

    assert reason_for(raw) == "arguments are 80,002 bytes, over the 64,000-byte limit"


def test_parse_tool_arguments_schema_violation_names_the_path():
    assert (
        reason_for('{"amount": "abc", "kind": null, "items": []}') == "amount: 'abc' is not of type 'number'"
    )
    assert reason_for('{"amount": 1, "kind": null, "items": [{"sku": "a"}, {"sku": 5}]}') == (
        "items[1].sku: 5 is not of type 'string'"
    )
    assert reason_for('{"amount": 1, "kind": "some", "items": []}') == (
        "kind: 'some' is not one of ['full', 'partial']"
    )


def test_parse_tool_arguments_missing_and_extra_properties():
    assert reason_for('{"kind": null, "items": []}') == "'amount' is a required property"
    assert (
        reason_for('{"amount": 1, "kind": null, "items": [{}]}') == "items[0]: 'sku' is a required property"
    )
    assert reason_for('{"amount": 1, "kind": null, "items": [], "note": "x"}') == (
        "Additional properties are not allowed ('note' was unexpected)"
    )


def test_parse_tool_arguments_empty_string_counts_as_empty_object():
    assert parse_tool_arguments("", EMPTY) == {}
    assert parse_tool_arguments("  ", EMPTY) == {}
    assert reason_for("", SCHEMA) == "'amount' is a required property"


def test_parse_tool_arguments_accepts_bytes_and_dicts():
    assert parse_tool_arguments(b"{}", EMPTY) == {}
    assert parse_tool_arguments({"amount": 1, "kind": None, "items": []}, SCHEMA) == {
        "amount": 1,
        "kind": None,
        "items": [],
    }
    assert reason_for(b"\xff", EMPTY) == "arguments are not valid UTF-8 (byte 0)"
    assert reason_for(42, EMPTY) == "arguments must be a JSON string, got int"


def test_validate_arguments_truncates_long_messages():
    with pytest.raises(ToolArgumentsError) as error:
        validate_arguments({"amount": "x" * 1000, "kind": None, "items": []}, SCHEMA)

    assert error.value.reason.startswith("amount: 'xxxx")
    assert error.value.reason.endswith("...")
    assert len(error.value.reason) == len("amount: ") + 300


def test_compiled_validator_is_cached_per_distinct_schema():
    first = compiled_validator(SCHEMA)

    assert compiled_validator(copy.deepcopy(SCHEMA)) is first
    assert compiled_validator(EMPTY) is not first


def test_json_path_formats_keys_and_indexes():
    assert json_path(["items", 2, "sku"]) == "items[2].sku"
    assert json_path([]) == ""
    assert json_path(["odd key", 0]) == '["odd key"][0]'


def test_tool_arguments_error_is_a_value_error_with_reason():
    error = ToolArgumentsError("bad")

    assert isinstance(error, ValueError)
    assert error.reason == "bad"
    assert str(error) == "bad"


def test_parse_tool_arguments_dict_that_is_not_json_raises():
    assert reason_for({"when": object()}, EMPTY).startswith("arguments are not JSON-serialisable: ")
