"""Strict schema generation from signatures, strict-mode checks of given schemas, argument coercion."""

import dataclasses
import enum
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal, NewType, NotRequired, Optional, TypedDict

import pytest
from jsonschema import Draft202012Validator

from governance.guard.errors import AdapterConfigurationError, ToolArgumentsError, ToolSchemaError
from governance.guard.schema import (
    check_json_schema,
    check_strict_schema,
    coerce_arguments,
    docstring_summary,
    schema_from_function,
)

NULL = {"type": "null"}


def obj(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
        **extra,
    }


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclasses.dataclass
class Address:
    """A postal address.

    Attributes:
        street: Street and number.
        zip_code: Postal code,
            five digits.
    """

    street: str
    zip_code: str | None = None


@dataclasses.dataclass
class Customer:
    name: str
    address: Address
    tags: list[str] = dataclasses.field(default_factory=list)


class Line(TypedDict):
    sku: str
    quantity: int
    note: NotRequired[str]


class Filters(TypedDict, total=False):
    status: str
    limit: int


@dataclasses.dataclass
class Node:
    value: int
    children: list["Node"]


class Opaque:
    pass


OrderId = NewType("OrderId", str)


# --- scalars and optionality ---------------------------------------------------------------


def test_schema_scalars_map_to_json_types():
    def fn(name: str, count: int, ratio: float, enabled: bool, nothing: None) -> None: ...

    assert schema_from_function(fn) == obj({
        "name": {"type": "string"},
        "count": {"type": "integer"},
        "ratio": {"type": "number"},
        "enabled": {"type": "boolean"},
        "nothing": {"type": "null"},
    })


def test_schema_no_parameters_gives_empty_closed_object():
    def fn() -> None: ...

    assert schema_from_function(fn) == {
        "type": "object", "properties": {}, "required": [], "additionalProperties": False,
    }


def test_schema_optional_without_default_is_nullable_and_required():
    def fn(note: Optional[str], count: int | None) -> None: ...  # noqa: UP045

    assert schema_from_function(fn) == obj({
        "note": {"type": ["string", "null"]},
        "count": {"type": ["integer", "null"]},
    })


def test_schema_default_makes_parameter_nullable_but_still_required():
    def fn(order_id: str, currency: str = "USD", amount: float = 0.0, *, notify: bool = False) -> None: ...

    schema = schema_from_function(fn)

    assert schema == obj({
        "order_id": {"type": "string"},
        "currency": {"type": ["string", "null"]},
        "amount": {"type": ["number", "null"]},
        "notify": {"type": ["boolean", "null"]},
    })
    assert schema["required"] == ["order_id", "currency", "amount", "notify"]


def test_schema_union_of_types_becomes_anyof():
    def fn(ref: int | str, maybe: int | str | None) -> None: ...

    assert schema_from_function(fn) == obj({
        "ref": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        "maybe": {"anyOf": [{"type": "integer"}, {"type": "string"}, NULL]},
    })


def test_schema_string_annotations_are_resolved():
    def fn(amount: "float", note: "str | None") -> None: ...

    assert schema_from_function(fn) == obj({
        "amount": {"type": "number"},
        "note": {"type": ["string", "null"]},
    })


def test_schema_newtype_uses_its_supertype():
    def fn(order_id: OrderId) -> None: ...

    assert schema_from_function(fn) == obj({"order_id": {"type": "string"}})


# --- enums -----------------------------------------------------------------------------------


def test_schema_literal_becomes_enum():
    def fn(unit: Literal["C", "F"], level: Literal[1, 2, 3], mixed: Literal["auto", 0]) -> None: ...

    assert schema_from_function(fn) == obj({
        "unit": {"type": "string", "enum": ["C", "F"]},
        "level": {"type": "integer", "enum": [1, 2, 3]},
        "mixed": {"type": ["string", "integer"], "enum": ["auto", 0]},
    })


def test_schema_enum_subclass_becomes_enum_of_values():
    def fn(color: Color, priority: Priority) -> None: ...

    assert schema_from_function(fn) == obj({
        "color": {"type": "string", "enum": ["red", "blue"]},
        "priority": {"type": "integer", "enum": [1, 2]},
    })


def test_schema_optional_enum_and_literal_use_anyof_with_null():
    def fn(color: Color | None, unit: Literal["C", "F", None], size: Literal["S", "L"] = "S") -> None: ...

    assert schema_from_function(fn) == obj({
        "color": {"anyOf": [{"type": "string", "enum": ["red", "blue"]}, NULL]},
        "unit": {"anyOf": [{"type": "string", "enum": ["C", "F"]}, NULL]},
        "size": {"anyOf": [{"type": "string", "enum": ["S", "L"]}, NULL]},
    })


# --- containers ------------------------------------------------------------------------------


def test_schema_lists_become_arrays():
    def fn(ids: list[int], names: list[str], unique: set[str], pair: tuple[float, ...],
           seq: Sequence[bool], maybe: list[int] | None) -> None: ...

    assert schema_from_function(fn) == obj({
        "ids": {"type": "array", "items": {"type": "integer"}},
        "names": {"type": "array", "items": {"type": "string"}},
        "unique": {"type": "array", "items": {"type": "string"}},
        "pair": {"type": "array", "items": {"type": "number"}},
        "seq": {"type": "array", "items": {"type": "boolean"}},
        "maybe": {"anyOf": [{"type": "array", "items": {"type": "integer"}}, NULL]},
    })


def test_schema_dict_becomes_array_of_key_value_entries():
    def fn(limits: dict[str, int], by_color: dict[Color, list[str]]) -> None: ...

    entry_note = "One entry of the mapping; each key at most once."
    assert schema_from_function(fn) == obj({
        "limits": {
            "type": "array",
            "items": obj({"key": {"type": "string"}, "value": {"type": "integer"}}, description=entry_note),
        },
        "by_color": {
            "type": "array",
            "items": obj(
                {
                    "key": {"type": "string", "enum": ["red", "blue"]},
                    "value": {"type": "array", "items": {"type": "string"}},
                },
                description=entry_note,
            ),
        },
    })


@pytest.mark.parametrize("annotation", [dict, dict[str, Any], dict[str, object]])
def test_schema_free_form_dict_raises_naming_parameter(annotation):
    def fn(metadata): ...

    fn.__annotations__ = {"metadata": annotation}

    with pytest.raises(ToolSchemaError) as error:
        schema_from_function(fn)

    message = str(error.value)
    assert "fn()" in message
    assert "parameter 'metadata'" in message
    assert "free-form object" in message
    assert "parameters_schema=" in message


def test_schema_dict_with_float_keys_raises():
    def fn(weights: dict[float, int]) -> None: ...

    expected = "parameter 'weights' has type dict[float, int]; mapping keys must be str, int"
    with pytest.raises(ToolSchemaError, match=re.escape(expected)):
        schema_from_function(fn)


# --- nested objects ---------------------------------------------------------------------------


def test_schema_nested_dataclasses_become_closed_objects():
    def fn(customer: Customer, billing: Address | None) -> None: ...

    address = obj({
        "street": {"type": "string", "description": "Street and number."},
        "zip_code": {"type": ["string", "null"], "description": "Postal code, five digits."},
    })
    assert schema_from_function(fn) == obj({
        "customer": obj({
            "name": {"type": "string"},
            "address": address,
            "tags": {"anyOf": [{"type": "array", "items": {"type": "string"}}, NULL]},
        }),
        "billing": {"anyOf": [address, NULL]},
    })


def test_schema_typeddict_optional_keys_become_nullable():
    def fn(lines: list[Line], filters: Filters) -> None: ...

    assert schema_from_function(fn) == obj({
        "lines": {
            "type": "array",
            "items": obj({
                "sku": {"type": "string"},
                "quantity": {"type": "integer"},
                "note": {"type": ["string", "null"]},
            }),
        },
        "filters": obj({
            "status": {"type": ["string", "null"]},
            "limit": {"type": ["integer", "null"]},
        }),
    })


def test_schema_recursive_dataclass_raises():
    def fn(tree: Node) -> None: ...

    expected = "parameter 'tree' (at tree.children[]) refers to Node recursively"
    with pytest.raises(ToolSchemaError, match=re.escape(expected)):
        schema_from_function(fn)


# --- descriptions -----------------------------------------------------------------------------


def test_schema_descriptions_come_from_google_docstring_args():
    def fn(order_id: str, amount: float, reason: str | None = None) -> dict:
        """Refund a payment.

        Args:
            order_id: The order to refund,
                like ord_123.
            amount (float): Amount to refund.
            reason: Why; shown to the customer.

        Returns:
            The refund.
        """

    assert schema_from_function(fn) == obj({
        "order_id": {"type": "string", "description": "The order to refund, like ord_123."},
        "amount": {"type": "number", "description": "Amount to refund."},
        "reason": {"type": ["string", "null"], "description": "Why; shown to the customer."},
    })


def test_schema_annotated_description_wins_over_docstring():
    def fn(amount: Annotated[float, "In cents"], color: Annotated[Color, "Paint"] | None) -> None:
        """Paint.

        Args:
            amount: From the docstring.
        """

    assert schema_from_function(fn) == obj({
        "amount": {"type": "number", "description": "In cents"},
        "color": {"anyOf": [{"type": "string", "enum": ["red", "blue"]}, NULL], "description": "Paint"},
    })


def test_docstring_summary_is_first_paragraph_on_one_line():
    def fn() -> None:
        """Refund a customer's
        payment.

        More detail.
        """

    def args_only() -> None:
        """Args:
        x: nothing.
        """

    assert docstring_summary(fn) == "Refund a customer's payment."
    assert docstring_summary(args_only) is None
    assert docstring_summary(lambda: None) is None


# --- unsupported signatures ---------------------------------------------------------------------


def test_schema_missing_annotation_raises_naming_function_and_parameter():
    def refund(order_id, amount: float) -> None: ...

    with pytest.raises(ToolSchemaError) as error:
        schema_from_function(refund)

    assert str(error.value).startswith(
        "cannot build a strict JSON schema for "
        "test_schema_missing_annotation_raises_naming_function_and_parameter.<locals>.refund(): "
        "parameter 'order_id' has no type annotation; "
    )
    assert isinstance(error.value, AdapterConfigurationError)
    assert isinstance(error.value, ValueError)


@pytest.mark.parametrize(
    ("signature_fn", "fragment"),
    [
        (lambda *items: None, "parameter 'items' is *args"),
        (lambda **options: None, "parameter 'options' is **kwargs"),
    ],
)
def test_schema_variadic_parameters_raise(signature_fn, fragment):
    with pytest.raises(ToolSchemaError, match=fragment.replace("*", r"\*")):
        schema_from_function(signature_fn)


def test_schema_positional_only_parameter_raises():
    def fn(order_id: str, /) -> None: ...

    with pytest.raises(ToolSchemaError, match="parameter 'order_id' is positional-only"):
        schema_from_function(fn)


@pytest.mark.parametrize(
    ("annotation", "fragment"),
    [
        (Any, "has type Any"),
        (Opaque, "has unsupported type Opaque"),
        (list, "has type list without an item type"),
        (tuple[int, str], "has type tuple[int, str]; only homogeneous tuples"),
    ],
)
def test_schema_unsupported_annotation_raises(annotation, fragment):
    def fn(value): ...

    fn.__annotations__ = {"value": annotation}

    with pytest.raises(ToolSchemaError, match=re.escape(f"parameter 'value' {fragment}")):
        schema_from_function(fn)


def test_schema_unsupported_nested_field_names_the_path():
    @dataclasses.dataclass
    class Payload:
        blob: Opaque

    def fn(payload: list[Payload]) -> None: ...

    expected = "parameter 'payload' (at payload[].blob) has unsupported type"
    with pytest.raises(ToolSchemaError, match=re.escape(expected)):
        schema_from_function(fn)


def test_schema_unresolvable_string_annotation_raises():
    def fn(value: "Missing") -> None: ...  # noqa: F821

    with pytest.raises(ToolSchemaError, match=r"fn\(\): its signature cannot be read \(NameError"):
        schema_from_function(fn)


# --- every generated schema is strict-valid -----------------------------------------------------


def _everything(
    name: str, count: int | None, color: Color, unit: Literal["C", "F"], ids: list[int],
    limits: dict[str, float], customer: Customer, lines: list[Line], filters: Filters,
    note: Annotated[str, "A note"] = "",
) -> None: ...


def test_schema_generated_schema_passes_strict_and_meta_checks():
    schema = schema_from_function(_everything)

    check_strict_schema(schema)
    Draft202012Validator.check_schema(schema)


# --- check_strict_schema --------------------------------------------------------------------------


def test_check_strict_schema_accepts_valid_schema_with_defs():
    schema = obj(
        {"item": {"$ref": "#/$defs/item"}, "unit": {"type": ["string", "null"], "enum": ["C", "F", None]}},
        **{"$defs": {"item": obj({"sku": {"type": "string"}})}},
    )

    assert check_strict_schema(schema) is None


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            'parameters_schema is not accepted in strict mode at #: every object needs "additionalProp',
        ),
        (
            obj({"address": {"type": "object", "properties": {"zip": {"type": "string"}},
                             "required": ["zip"]}}),
            "at #/properties/address: every object needs \"additionalProperties\": false",
        ),
        (
            {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
             "required": ["a"], "additionalProperties": False},
            "at #: properties ['b'] are not listed in \"required\"",
        ),
        (
            obj({"rows": {"type": "array", "items": {
                "type": "object", "properties": {"x": {"type": "number"}},
                "required": [], "additionalProperties": False,
            }}}),
            "at #/properties/rows/items: properties ['x'] are not listed in \"required\"",
        ),
        (
            {"type": "object", "properties": {}, "required": ["ghost"], "additionalProperties": False},
            "at #: \"required\" lists ['ghost'], which are not in \"properties\"",
        ),
        ({"type": "array", "items": {"type": "string"}}, 'at #: the root must be {"type": "object", ...}'),
        (
            {"type": "object", "anyOf": [obj({})], "properties": {}, "required": [],
             "additionalProperties": False},
            "at #: the root must be",
        ),
        (
            obj({"a": {"allOf": [{"type": "string"}]}}),
            "at #/properties/a: 'allOf' is not supported in strict mode",
        ),
        (obj({"a": {"description": "anything"}}), 'at #/properties/a: every schema must declare a "type"'),
        (obj({"a": {"anyOf": [{"type": "object", "properties": {}}, NULL]}}),
         'at #/properties/a/anyOf/0: every object needs "additionalProperties": false'),
    ],
)
def test_check_strict_schema_rejects_what_the_api_rejects(schema, message):
    with pytest.raises(ToolSchemaError) as error:
        check_strict_schema(schema)

    assert message in str(error.value)


def test_check_strict_schema_rejects_invalid_json_schema():
    expected = "parameters_schema is not a valid JSON Schema at #/properties/a/type: 'strng' is not valid"
    with pytest.raises(ToolSchemaError, match=re.escape(expected)):
        check_strict_schema(obj({"a": {"type": "strng"}}))


def test_check_strict_schema_rejects_too_deep_nesting():
    schema = obj({"leaf": {"type": "string"}})
    for _ in range(10):
        schema = obj({"child": schema})

    with pytest.raises(ToolSchemaError, match="nested 11 levels deep, over the limit of 10"):
        check_strict_schema(schema)


def test_check_json_schema_rejects_non_dict():
    expected = "parameters_schema must be a JSON object (a dict), got list"
    with pytest.raises(ToolSchemaError, match=re.escape(expected)):
        check_json_schema([])


# --- coerce_arguments ------------------------------------------------------------------------------


def test_coerce_arguments_builds_enums_dataclasses_and_dicts():
    def fn(color: Color, priority: Priority, customer: Customer, limits: dict[str, int],
           by_color: dict[Color, int]) -> None: ...

    args = {
        "color": "red",
        "priority": 2,
        "customer": {"name": "Ana", "address": {"street": "Main 1", "zip_code": None}, "tags": None},
        "limits": [{"key": "daily", "value": 5}, {"key": "monthly", "value": 50}],
        "by_color": [{"key": "blue", "value": 1}],
    }

    assert coerce_arguments(fn, schema_from_function(fn), args) == {
        "color": Color.RED,
        "priority": Priority.HIGH,
        "customer": Customer(name="Ana", address=Address(street="Main 1", zip_code=None), tags=[]),
        "limits": {"daily": 5, "monthly": 50},
        "by_color": {Color.BLUE: 1},
    }


def test_coerce_arguments_drops_null_for_defaults_and_keeps_it_for_optional():
    def fn(order_id: str, note: str | None, currency: str = "USD", limit: int | None = 10) -> None: ...

    args = {"order_id": "ord_1", "note": None, "currency": None, "limit": None}

    assert coerce_arguments(fn, schema_from_function(fn), args) == {"order_id": "ord_1", "note": None}


def test_coerce_arguments_converts_numbers_and_collections():
    def fn(ratio: float, count: int, unique: set[str], pair: tuple[int, ...]) -> None: ...

    args = {"ratio": 2, "count": 3.0, "unique": ["a", "b", "a"], "pair": [1, 2]}
    kwargs = coerce_arguments(fn, schema_from_function(fn), args)

    assert kwargs == {"ratio": 2.0, "count": 3, "unique": {"a", "b"}, "pair": (1, 2)}
    assert type(kwargs["ratio"]) is float
    assert type(kwargs["count"]) is int


def test_coerce_arguments_typeddict_drops_null_optional_keys():
    def fn(lines: list[Line], filters: Filters) -> None: ...

    args = {
        "lines": [{"sku": "a", "quantity": 1, "note": None}],
        "filters": {"status": "open", "limit": None},
    }

    assert coerce_arguments(fn, schema_from_function(fn), args) == {
        "lines": [{"sku": "a", "quantity": 1}],
        "filters": {"status": "open"},
    }


def test_coerce_arguments_union_picks_the_member_the_value_fits():
    def fn(target: int | Address, color: Color | int) -> None: ...

    schema = schema_from_function(fn)

    address = {"street": "Main 1", "zip_code": "12345"}
    assert coerce_arguments(fn, schema, {"target": address, "color": "blue"}) == {
        "target": Address("Main 1", "12345"),
        "color": Color.BLUE,
    }
    assert coerce_arguments(fn, schema, {"target": 7, "color": 3}) == {"target": 7, "color": 3}


def test_coerce_arguments_duplicate_mapping_key_raises():
    def fn(limits: dict[str, int]) -> None: ...

    args = {"limits": [{"key": "daily", "value": 5}, {"key": "daily", "value": 500}]}

    with pytest.raises(ToolArgumentsError) as error:
        coerce_arguments(fn, schema_from_function(fn), args)

    assert error.value.reason == "limits: key 'daily' is given more than once"


def test_coerce_arguments_unknown_argument_raises():
    def fn(order_id: str) -> None: ...

    expected = "unexpected argument 'extra': not a property of the tool's schema"
    with pytest.raises(ToolArgumentsError, match=re.escape(expected)):
        coerce_arguments(fn, schema_from_function(fn), {"order_id": "a", "extra": 1})


def test_coerce_arguments_passes_unknown_annotations_through():
    def fn(when: Opaque, **options: Any) -> None: ...

    args = {"when": "2024-01-01", "verbose": True}

    assert coerce_arguments(fn, {"type": "object"}, args) == {"when": "2024-01-01", "verbose": True}
