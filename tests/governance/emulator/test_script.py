"""Script mode: exact turns for tests, including deliberately broken model output."""

from __future__ import annotations

import json

import pytest

from governance.emulator import ResponsesEmulator, ScriptedCall, ScriptedTurn, make_openai_client


def test_script_malformed_arguments_are_sent_verbatim(client, emulator, tools):
    emulator.add_script(ScriptedTurn(function_calls=[ScriptedCall("refund_payment", '{"order_id": "ord_1", ')]))

    response = client.responses.create(model="gpt-4.1", input="x", tools=tools, store=False)

    call = response.output[-1]
    assert call.arguments == '{"order_id": "ord_1", '
    with pytest.raises(json.JSONDecodeError):
        json.loads(call.arguments)


def test_script_unknown_tool_name_and_huge_arguments_pass_through(client, emulator, tools):
    huge = json.dumps({"note": "x" * 200_000})
    emulator.add_script(ScriptedTurn(function_calls=[("transfer_all_funds", "{}"), ("lookup_order", huge)]))

    response = client.responses.create(model="gpt-4.1", input="x", tools=tools, store=False)

    assert [item.name for item in response.output if item.type == "function_call"] == [
        "transfer_all_funds",
        "lookup_order",
    ]
    assert response.output[-1].arguments == huge


def test_script_malformed_arguments_stream_intact(client, emulator):
    emulator.add_script(ScriptedTurn(function_calls=[ScriptedCall("lookup_order", "not json at all")]))

    events = list(client.responses.create(model="gpt-4.1", input="x", store=False, stream=True))

    done = next(event for event in events if event.type == "response.function_call_arguments.done")
    assert done.arguments == "not json at all"


def test_script_text_then_calls_in_one_turn(client, emulator):
    emulator.add_script(
        ScriptedTurn(text="Checking.", function_calls=[{"name": "lookup_order", "arguments": {"order_id": "ord_1"}}])
    )

    response = client.responses.create(model="gpt-4.1", input="x", store=False)

    assert [item.type for item in response.output] == ["reasoning", "message", "function_call"]
    assert response.output_text == "Checking."


def test_script_reasoning_false_omits_reasoning_item(client, emulator):
    emulator.add_script(ScriptedTurn(text="plain", reasoning=False))

    response = client.responses.create(model="gpt-4.1", input="x", store=False)

    assert [item.type for item in response.output] == ["message"]


def test_script_runs_out_then_demo_model_answers(client, tools):
    emulator = ResponsesEmulator(script=[ScriptedTurn(text="first")])
    sdk_client = make_openai_client(emulator)

    first = sdk_client.responses.create(model="gpt-4.1", input="hi", store=False)
    second = sdk_client.responses.create(model="gpt-4.1", input="Delete customer cus_3", tools=tools, store=False)

    assert first.output_text == "first" and first.metadata == {"emulator": "script"}
    assert second.output[-1].name == "delete_customer" and second.metadata == {"emulator": "demo-model"}
    assert emulator.script_remaining == 0


def test_script_callable_entry_sees_the_conversation(client, emulator):
    seen = []

    def turn(request, conversation):
        seen.append((request["model"], [item["type"] for item in conversation]))
        return ScriptedTurn(text=f"{len(conversation)} item(s)")

    emulator.add_script(turn)

    response = client.responses.create(model="gpt-4.1", input="hi", store=False)

    assert response.output_text == "1 item(s)"
    assert seen == [("gpt-4.1", ["message"])]


def test_max_output_tokens_cuts_the_response_to_incomplete(client, emulator):
    emulator.add_script(ScriptedTurn(text="word " * 400, reasoning=False))

    response = client.responses.create(model="gpt-4.1", input="x", store=False, max_output_tokens=16)

    assert response.status == "incomplete"
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output[0].status == "incomplete"
    assert len(response.output_text) == 64
    assert response.usage.output_tokens == 16


def test_max_output_tokens_incomplete_stream_ends_with_response_incomplete(client, emulator):
    emulator.add_script(ScriptedTurn(text="word " * 400, reasoning=False))

    events = list(client.responses.create(model="gpt-4.1", input="x", store=False, max_output_tokens=16, stream=True))

    assert events[-1].type == "response.incomplete"
