"""Request validation: the real API's 400s for mistakes a client makes."""

from __future__ import annotations

import openai
import pytest

from governance.emulator import ResponsesEmulator, make_openai_client


def _bad_request(client, **kwargs) -> openai.BadRequestError:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(**kwargs)
    return caught.value


def test_create_without_model_is_missing_required_parameter(client):
    error = _bad_request(client, input="hi")

    assert error.body == {
        "message": "Missing required parameter: 'model'.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "missing_required_parameter",
    }


def test_create_without_input_is_missing_required_parameter(client):
    error = _bad_request(client, model="gpt-4.1")

    assert error.body["message"] == "Missing required parameter: 'input'."
    assert error.param == "input"


def test_create_with_chat_completions_nested_tool_is_missing_tools_name(client):
    nested = {"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object"}}}

    error = _bad_request(client, model="gpt-4.1", input="hi", tools=[nested])

    assert error.body["message"] == "Missing required parameter: 'tools[0].name'."
    assert error.param == "tools[0].name" and error.code == "missing_required_parameter"


def test_create_strict_tool_without_additional_properties_false_is_rejected(client):
    tool = {
        "type": "function",
        "name": "lookup_order",
        "strict": True,
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
    }

    error = _bad_request(client, model="gpt-4.1", input="hi", tools=[tool])

    assert error.body["message"] == (
        "Invalid schema for function 'lookup_order': In context=(), 'additionalProperties' is required to be "
        "supplied and to be false."
    )
    assert error.param == "tools[0].parameters" and error.code == "invalid_function_parameters"


def test_create_strict_tool_with_optional_property_is_rejected(client):
    tool = {
        "type": "function",
        "name": "refund_payment",
        "strict": True,
        "parameters": {
            "type": "object",
            "additionalProperties": False,
            "required": ["order_id"],
            "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}},
        },
    }

    error = _bad_request(client, model="gpt-4.1", input="hi", tools=[tool])

    assert error.body["message"] == (
        "Invalid schema for function 'refund_payment': In context=(), 'required' is required to be supplied "
        "and to be an array including every key in properties. Missing 'amount'."
    )


def test_create_strict_tool_nested_object_checked_too(client):
    address = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    tool = {
        "type": "function",
        "name": "ship",
        "strict": True,
        "parameters": {
            "type": "object",
            "additionalProperties": False,
            "required": ["address"],
            "properties": {"address": address},
        },
    }

    error = _bad_request(client, model="gpt-4.1", input="hi", tools=[tool])

    assert "In context=('properties', 'address'), 'additionalProperties'" in error.body["message"]


def test_create_non_strict_tool_with_optional_property_is_accepted(client):
    tool = {
        "type": "function",
        "name": "lookup_order",
        "strict": False,
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
    }

    response = client.responses.create(model="gpt-4.1", input="look up ord_1", tools=[tool], store=False)

    assert response.output[-1].name == "lookup_order"


def test_create_with_chat_completions_messages_is_unknown_parameter(client):
    error = _bad_request(client, model="gpt-4.1", input="hi", extra_body={"messages": []})

    assert error.body["message"] == "Unknown parameter: 'messages'."
    assert error.code == "unknown_parameter"


def test_create_tool_choice_naming_no_tool_is_rejected(client, tools):
    error = _bad_request(
        client, model="gpt-4.1", input="hi", tools=tools, tool_choice={"type": "function", "name": "transfer_funds"}
    )

    assert error.body["message"] == "Tool choice 'function' not found in 'tools' parameter."


def test_create_replayed_arguments_as_object_is_invalid_type(client):
    items = [
        {"role": "user", "content": "hi"},
        {"type": "function_call", "call_id": "call_1", "name": "lookup_order", "arguments": {"order_id": "x"}},
        {"type": "function_call_output", "call_id": "call_1", "output": "{}"},
    ]

    error = _bad_request(client, model="gpt-4.1", input=items)

    assert error.body["message"] == (
        "Invalid type for 'input[1].arguments': expected a string, but got an object instead."
    )


def test_create_temperature_out_of_range_is_rejected(client):
    error = _bad_request(client, model="gpt-4.1", input="hi", temperature=3)

    assert error.code == "decimal_above_max_value"


def test_create_without_api_key_header_is_authentication_error():
    sdk_client = make_openai_client(ResponsesEmulator(), default_headers={"Authorization": ""})

    with pytest.raises(openai.AuthenticationError) as caught:
        sdk_client.responses.create(model="gpt-4.1", input="hi")

    assert caught.value.body["message"].startswith("You didn't provide an API key.")


def test_unknown_route_is_invalid_url(client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "hi"}])

    assert caught.value.body["message"] == "Invalid URL (POST /v1/chat/completions)"


def test_invalid_request_does_not_consume_a_scripted_turn(emulator, client):
    from governance.emulator import ScriptedTurn

    emulator.add_script(ScriptedTurn(text="scripted"))
    _bad_request(client, model="gpt-4.1")

    assert client.responses.create(model="gpt-4.1", input="hi", store=False).output_text == "scripted"
    assert len(emulator.requests) == 2
