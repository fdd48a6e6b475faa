"""Shared fixtures: an emulator, real SDK clients wired to it, and the demo tools' flat schemas."""

from __future__ import annotations

from typing import Any

import pytest

from governance.emulator import ResponsesEmulator, make_async_openai_client, make_openai_client


def strict_tool(name: str, description: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "name": name,
        "description": description,
        "parameters": {
            "type": "object",
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        },
        "strict": True,
    }


REFUND = strict_tool(
    "refund_payment",
    "Refund a customer's payment for an order.",
    {
        "order_id": {"type": "string", "description": "The order to refund, like ord_123."},
        "amount": {"type": "number", "description": "The amount to refund."},
    },
)
LOOKUP = strict_tool(
    "lookup_order",
    "Look up an order's status (read-only).",
    {"order_id": {"type": "string", "description": "The order to look up, like ord_123."}},
)
DELETE = strict_tool(
    "delete_customer",
    "Delete a customer and all their data.",
    {"customer_id": {"type": "string", "description": "The customer to delete, like cus_42."}},
)
DEMO_TOOLS = [REFUND, LOOKUP, DELETE]


@pytest.fixture
def tools() -> list[dict[str, Any]]:
    return [dict(tool) for tool in DEMO_TOOLS]


@pytest.fixture
def emulator() -> ResponsesEmulator:
    return ResponsesEmulator(seed="tests")


@pytest.fixture
def client(emulator: ResponsesEmulator):
    with make_openai_client(emulator) as sdk_client:
        yield sdk_client


@pytest.fixture
async def aclient(emulator: ResponsesEmulator):
    async with make_async_openai_client(emulator) as sdk_client:
        yield sdk_client
