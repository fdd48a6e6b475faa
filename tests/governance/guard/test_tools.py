"""Tool registration, the Responses API tool format, and invoking tools with coerced arguments."""

import asyncio
import dataclasses
import enum
import threading

import pytest

from governance.guard.errors import AdapterConfigurationError, ToolArgumentsError, ToolSchemaError
from governance.guard.tools import ToolRegistry, ToolSpec


class Speed(enum.Enum):
    STANDARD = "standard"
    EXPRESS = "express"


@dataclasses.dataclass
class Parcel:
    weight_kg: float
    fragile: bool = False


def refund_payment(order_id: str, amount: float) -> dict:
    """Refund a customer's payment
    for an order.

    Args:
        order_id: The order to refund.
        amount: The amount to refund.
    """
    return {"order_id": order_id, "amount": amount}


def ship(parcel: Parcel, speed: Speed, note: str = "none") -> dict:
    return {"parcel": parcel, "speed": speed, "note": note}


STRICT_SCHEMA = {
    "type": "object",
    "properties": {"order_id": {"type": "string", "pattern": "^ord_"}, "amount": {"type": "number"}},
    "required": ["order_id", "amount"],
    "additionalProperties": False,
}


def test_register_generates_schema_and_flat_responses_tool():
    registry = ToolRegistry()

    spec = registry.register("refund_payment", refund_payment, value_from_args=lambda a: a["amount"])

    assert isinstance(spec, ToolSpec)
    assert spec.to_openai_tool() == {
        "type": "function",
        "name": "refund_payment",
        "description": "Refund a customer's payment for an order.",
        "parameters": {
            "type": "object",
            "properties": {
                "order_id": {"type": "string", "description": "The order to refund."},
                "amount": {"type": "number", "description": "The amount to refund."},
            },
            "required": ["order_id", "amount"],
            "additionalProperties": False,
        },
        "strict": True,
    }
    assert spec.value_from_args({"amount": 5}) == 5
    assert registry.openai_tools() == [spec.to_openai_tool()]


def test_register_description_explicit_or_default():
    registry = ToolRegistry()

    explicit = registry.register("refund", refund_payment, description="  Give money back.  ")
    undocumented = registry.register("ship", ship)

    assert explicit.description == "Give money back."
    assert undocumented.description == "Execute ship"


def test_register_keeps_governance_options():
    spec = ToolRegistry().register(
        "refund",
        refund_payment,
        target_from_args=lambda a: a["order_id"],
        metadata_from_args=lambda a: {"currency": "EUR"},
        action_name="payments.refund",
        domain="payments",
        actor="AGENT_7",
        decision_mode="submit_v2",
    )

    assert (spec.action_name, spec.domain, spec.actor, spec.decision_mode) == (
        "payments.refund",
        "payments",
        "AGENT_7",
        "submit_v2",
    )
    assert spec.target_from_args({"order_id": "ord_1"}) == "ord_1"
    assert spec.metadata_from_args({}) == {"currency": "EUR"}


@pytest.mark.parametrize("name", ["", "a" * 65, "has space", "dot.name", "ünicode", None])
def test_register_invalid_name_raises(name):
    with pytest.raises(AdapterConfigurationError, match="invalid tool name"):
        ToolRegistry().register(name, refund_payment)


def test_register_accepts_names_matching_api_pattern():
    registry = ToolRegistry()

    registry.register("a" * 64, refund_payment)
    registry.register("Refund-Payment_2", refund_payment)

    assert registry.names() == ["a" * 64, "Refund-Payment_2"]


def test_register_invalid_decision_mode_raises():
    with pytest.raises(AdapterConfigurationError) as error:
        ToolRegistry().register("refund", refund_payment, decision_mode="submit_v3")

    assert str(error.value) == (
        "tool 'refund': decision_mode must be one of ('submit', 'submit_v2'), got 'submit_v3'"
    )


def test_register_duplicate_name_raises():
    registry = ToolRegistry()
    registry.register("refund", refund_payment)

    with pytest.raises(AdapterConfigurationError, match="a tool named 'refund' is already registered"):
        registry.register("refund", ship)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"value_from_args": "amount"}, "tool 'refund': value_from_args must be callable, got str"),
        ({"domain": "  "}, "tool 'refund': domain must be a non-empty string, got '  '"),
    ],
)
def test_register_invalid_options_raise(options, message):
    with pytest.raises(AdapterConfigurationError) as error:
        ToolRegistry().register("refund", refund_payment, **options)

    assert str(error.value) == message


def test_register_non_callable_raises():
    with pytest.raises(AdapterConfigurationError, match="tool 'refund': fn must be callable, got int"):
        ToolRegistry().register("refund", 42)


def test_register_unsupported_signature_raises_schema_error():
    def lookup(query) -> None: ...

    with pytest.raises(ToolSchemaError, match="parameter 'query' has no type annotation"):
        ToolRegistry().register("lookup", lookup)


def test_register_given_strict_schema_is_checked():
    loose = {"type": "object", "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}}}

    with pytest.raises(ToolSchemaError, match='every object needs "additionalProperties": false'):
        ToolRegistry().register("refund", refund_payment, parameters_schema=loose)


def test_register_given_schema_is_used_and_copied():
    schema = {**STRICT_SCHEMA, "properties": dict(STRICT_SCHEMA["properties"])}

    spec = ToolRegistry().register("refund", refund_payment, parameters_schema=schema)
    schema["properties"]["amount"] = {"type": "string"}

    assert spec.parameters_schema == STRICT_SCHEMA
    assert spec.to_openai_tool()["parameters"] == STRICT_SCHEMA


def test_register_non_strict_accepts_loose_schema():
    loose = {
        "type": "object",
        "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}},
        "required": ["order_id", "amount"],
    }

    spec = ToolRegistry().register("refund", refund_payment, parameters_schema=loose, strict=False)

    assert spec.to_openai_tool()["strict"] is False
    assert spec.parameters_schema == loose


def test_register_non_strict_still_needs_valid_json_schema():
    with pytest.raises(ToolSchemaError, match="is not a valid JSON Schema"):
        ToolRegistry().register("refund", refund_payment, parameters_schema={"type": "obj"}, strict=False)


def test_register_schema_not_matching_function_raises():
    extra = {
        "type": "object",
        "properties": {**STRICT_SCHEMA["properties"], "currency": {"type": "string"}},
        "required": ["order_id", "amount", "currency"],
        "additionalProperties": False,
    }
    missing = {
        "type": "object",
        "properties": {"order_id": {"type": "string"}},
        "required": ["order_id"],
        "additionalProperties": False,
    }

    with pytest.raises(ToolSchemaError) as extra_error:
        ToolRegistry().register("refund", refund_payment, parameters_schema=extra)
    with pytest.raises(ToolSchemaError) as missing_error:
        ToolRegistry().register("refund", refund_payment, parameters_schema=missing)

    assert str(extra_error.value) == (
        "tool 'refund': parameters_schema declares ['currency'], which the function does not accept "
        "as keyword arguments"
    )
    assert str(missing_error.value) == (
        "tool 'refund': the function's parameters ['amount'] have no default, so parameters_schema must "
        "declare them as required properties"
    )


def test_registry_lookup_contains_names():
    registry = ToolRegistry()
    registry.register("refund", refund_payment)
    registry.register("ship", ship)

    assert "refund" in registry
    assert "delete" not in registry
    assert registry.names() == ["refund", "ship"]
    assert len(registry) == 2
    assert registry.get("ship").fn is ship
    with pytest.raises(KeyError, match="unknown tool 'delete'"):
        registry.get("delete")


def test_openai_tools_returns_copies():
    registry = ToolRegistry()
    registry.register("refund", refund_payment)

    registry.openai_tools()[0]["parameters"]["properties"].clear()

    assert list(registry.get("refund").parameters_schema["properties"]) == ["order_id", "amount"]


def test_invoke_calls_function_with_coerced_arguments():
    spec = ToolRegistry().register("ship", ship)

    result = spec.invoke({"parcel": {"weight_kg": 2, "fragile": None}, "speed": "express", "note": None})

    assert result == {"parcel": Parcel(weight_kg=2.0, fragile=False), "speed": Speed.EXPRESS, "note": "none"}


def test_invoke_revalidates_arguments():
    spec = ToolRegistry().register("refund", refund_payment)

    with pytest.raises(ToolArgumentsError) as error:
        spec.invoke({"order_id": "ord_1", "amount": "lots"})

    assert error.value.reason == "amount: 'lots' is not of type 'number'"


def test_invoke_runs_async_tool_outside_an_event_loop():
    async def lookup(order_id: str) -> str:
        await asyncio.sleep(0)
        return f"found {order_id}"

    spec = ToolRegistry().register("lookup", lookup)

    assert spec.invoke({"order_id": "ord_1"}) == "found ord_1"


async def test_invoke_async_tool_inside_event_loop_raises():
    async def lookup(order_id: str) -> str:
        return order_id

    spec = ToolRegistry().register("lookup", lookup)

    with pytest.raises(AdapterConfigurationError, match="'lookup' is async and an event loop is running"):
        spec.invoke({"order_id": "ord_1"})


async def test_ainvoke_awaits_coroutine_functions():
    async def lookup(order_id: str, speed: Speed) -> tuple:
        await asyncio.sleep(0)
        return order_id, speed

    spec = ToolRegistry().register("lookup", lookup)

    assert await spec.ainvoke({"order_id": "ord_1", "speed": "standard"}) == ("ord_1", Speed.STANDARD)


async def test_ainvoke_runs_sync_functions_in_a_thread():
    loop_thread = threading.get_ident()

    def whoami(label: str) -> tuple:
        return label, threading.get_ident()

    spec = ToolRegistry().register("whoami", whoami)
    label, thread = await spec.ainvoke({"label": "x"})

    assert label == "x"
    assert thread != loop_thread


async def test_ainvoke_validates_before_calling():
    calls = []

    async def record(order_id: str) -> None:
        calls.append(order_id)

    spec = ToolRegistry().register("record", record)

    with pytest.raises(ToolArgumentsError, match="'order_id' is a required property"):
        await spec.ainvoke({})
    assert calls == []
