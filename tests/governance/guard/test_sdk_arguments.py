"""The model request reaches the API as the same JSON whether the SDK is given `input=` or `extra_body`."""

from __future__ import annotations

import json

from governance.emulator.clients import make_openai_client
from governance.emulator.core import ResponsesEmulator
from governance.emulator.store import default_store
from governance.guard.drivers import sdk_arguments

TOOLS = [{"type": "function", "name": "lookup_order", "description": "Look up an order.", "strict": True,
          "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}},
                         "required": ["order_id"], "additionalProperties": False}}]
CONVERSATION = [
    {"role": "user", "content": "Look up ord_1 and ord_2"},
    *({"type": "function_call", "call_id": f"call_{k}", "name": "lookup_order", "id": f"fc_{k}",
       "arguments": json.dumps({"order_id": f"ord_{k}"}), "status": "completed"} for k in (1, 2)),
    *({"type": "function_call_output", "call_id": f"call_{k}",
       "output": json.dumps({"status": "executed", "output": {"order_id": f"ord_{k}", "status": "shipped"}})}
      for k in (1, 2)),
]


def _sent(**arguments) -> dict:
    emulator = ResponsesEmulator(store=default_store())
    make_openai_client(emulator).responses.create(**arguments)
    return emulator.requests[-1]


def test_the_wire_body_is_the_same_as_the_sdks_own_encoding():
    request = {"model": "gpt-4.1", "input": CONVERSATION, "tools": TOOLS, "store": False,
               "include": ["reasoning.encrypted_content"], "temperature": 0.2}

    as_json = sdk_arguments(request)

    assert "input" not in as_json and "tools" not in as_json
    assert _sent(**as_json) == _sent(**request)


def test_a_callers_own_extra_body_is_kept():
    request = {"model": "gpt-4.1", "input": "hello", "extra_body": {"metadata": {"team": "billing"}}}

    sent = _sent(**sdk_arguments(request))

    assert sent["input"] == "hello"
    assert sent["metadata"] == {"team": "billing"}
