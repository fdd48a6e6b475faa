"""store=true/false semantics, previous_response_id chaining and the conversation checks."""

from __future__ import annotations

import json

import openai
import pytest

from governance.emulator import FileResponseStore, ResponsesEmulator, ScriptedCall, ScriptedTurn, make_openai_client

ENCRYPTED = ["reasoning.encrypted_content"]


def _as_input(items):
    return [{k: v for k, v in item.model_dump(exclude_none=True).items()} for item in items]


def test_previous_response_id_of_store_false_response_is_rejected(client):
    first = client.responses.create(model="gpt-4.1", input="hello", store=False)

    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4.1", input="again", previous_response_id=first.id, store=False)

    error = caught.value
    assert error.status_code == 400
    assert error.code == "previous_response_not_found"
    assert error.param == "previous_response_id"
    assert error.body == {
        "message": f"Previous response with id '{first.id}' not found.",
        "type": "invalid_request_error",
        "param": "previous_response_id",
        "code": "previous_response_not_found",
    }


def test_retrieve_store_false_response_is_not_found(client):
    first = client.responses.create(model="gpt-4.1", input="hello", store=False)

    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.retrieve(first.id)

    assert caught.value.body["message"] == f"Response with id '{first.id}' not found."


def test_store_defaults_to_true_when_not_sent(client):
    first = client.responses.create(model="gpt-4.1", input="hello")

    assert client.responses.retrieve(first.id).id == first.id


def test_store_true_chaining_gives_the_model_the_earlier_turns(client, tools):
    first = client.responses.create(model="gpt-4.1", input="Look up ord_5", tools=tools, store=True)
    call = first.output[-1]
    second = client.responses.create(
        model="gpt-4.1",
        previous_response_id=first.id,
        store=True,
        tools=tools,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": '{"status": "shipped"}'}],
    )
    third = client.responses.create(
        model="gpt-4.1", previous_response_id=second.id, store=True, tools=tools, input="Now refund it for 20"
    )

    assert call.name == "lookup_order" and json.loads(call.arguments) == {"order_id": "ord_5"}
    assert second.output_text == 'lookup_order returned {"status": "shipped"}.'
    assert second.previous_response_id == first.id
    refund = third.output[-1]
    assert refund.name == "refund_payment"
    assert json.loads(refund.arguments) == {"order_id": "ord_5", "amount": 20}


def test_store_false_without_replay_loses_the_context(client, tools):
    client.responses.create(model="gpt-4.1", input="Look up ord_5", tools=tools, store=False)

    answer = client.responses.create(model="gpt-4.1", input="Now refund it for 20", tools=tools, store=False)

    assert answer.output_text == "To use refund_payment I need order_id. Could you tell me?"


def test_store_false_full_replay_with_encrypted_reasoning_round_trips(client, tools):
    items = [{"role": "user", "content": "Refund ord_1 for 50"}]
    first = client.responses.create(model="o4-mini", input=items, tools=tools, store=False, include=ENCRYPTED)
    items += _as_input(first.output)
    call = first.output[-1]
    items.append({"type": "function_call_output", "call_id": call.call_id, "output": '{"ok": true}'})

    second = client.responses.create(model="o4-mini", input=items, tools=tools, store=False, include=ENCRYPTED)

    assert [item.get("type") for item in items] == [None, "reasoning", "function_call", "function_call_output"]
    assert second.output_text == 'refund_payment returned {"ok": true}.'


def test_store_false_reasoning_replayed_without_encrypted_content_is_not_found(client, tools):
    first = client.responses.create(model="o4-mini", input="Look up ord_1", tools=tools, store=False)
    call = first.output[-1]
    items = [
        {"role": "user", "content": "Look up ord_1"},
        *_as_input(first.output),
        {"type": "function_call_output", "call_id": call.call_id, "output": "{}"},
    ]

    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model="o4-mini", input=items, tools=tools, store=False)

    assert caught.value.body["message"] == (
        f"Item with id '{first.output[0].id}' not found. Items are not persisted when `store` is set to false. "
        "Try again with `store` set to true, or remove this item from your input."
    )


def test_replay_with_tampered_encrypted_content_is_rejected(client, tools):
    first = client.responses.create(model="o4-mini", input="Look up ord_1", tools=tools, store=False, include=ENCRYPTED)
    replay = _as_input(first.output)
    replay[0]["encrypted_content"] = replay[0]["encrypted_content"][:-8] + "AAAAAAAA"
    items = [
        {"role": "user", "content": "Look up ord_1"},
        *replay,
        {"type": "function_call_output", "call_id": first.output[-1].call_id, "output": "{}"},
    ]

    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="o4-mini", input=items, tools=tools, store=False)

    assert caught.value.code == "invalid_encrypted_content"


def test_replay_dropping_reasoning_but_keeping_call_id_is_rejected(client, tools):
    first = client.responses.create(model="o4-mini", input="Look up ord_1", tools=tools, store=False)
    call = first.output[-1]
    items = [
        {"role": "user", "content": "Look up ord_1"},
        _as_input([call])[0],
        {"type": "function_call_output", "call_id": call.call_id, "output": "{}"},
    ]

    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="o4-mini", input=items, tools=tools, store=False)

    assert caught.value.body["message"] == (
        f"Item '{call.id}' of type 'function_call' was provided without its required 'reasoning' item: "
        f"'{first.output[0].id}'."
    )


def test_orphan_function_call_output_is_rejected(client, tools):
    items = [
        {"role": "user", "content": "Refund ord_1 for 50"},
        {"type": "function_call_output", "call_id": "call_forgotten", "output": '{"ok": true}'},
    ]

    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4.1", input=items, tools=tools, store=False)

    assert caught.value.body == {
        "message": "No tool call found for function call output with call_id call_forgotten.",
        "type": "invalid_request_error",
        "param": "input",
        "code": None,
    }


def test_function_call_without_its_output_is_rejected(client, tools):
    first = client.responses.create(model="gpt-4.1", input="Look up ord_1", tools=tools, store=True)

    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4.1", input="thanks", previous_response_id=first.id, store=True)

    assert caught.value.body["message"] == f"No tool output found for function call {first.output[-1].call_id}."


def test_retrieve_and_delete_stored_response(client):
    first = client.responses.create(model="gpt-4.1", input="hello", store=True, include=ENCRYPTED)

    fetched = client.responses.retrieve(first.id)
    with_reasoning = client.responses.retrieve(first.id, include=ENCRYPTED)
    client.responses.delete(first.id)

    assert fetched.output_text == first.output_text and fetched.output[0].encrypted_content is None
    assert with_reasoning.output[0].encrypted_content == first.output[0].encrypted_content
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(first.id)


def test_input_items_lists_stored_inputs_newest_first(client):
    first = client.responses.create(
        model="gpt-4.1", store=True, input=[{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
    )

    page = client.responses.input_items.list(first.id)

    assert [item.content[0].text for item in page.data] == ["b", "a"]
    assert all(item.id.startswith("msg_") for item in page.data)


def test_file_store_lets_another_emulator_continue_a_chain(tmp_path, tools):
    writer = make_openai_client(ResponsesEmulator(store=FileResponseStore(tmp_path)))
    reader = make_openai_client(ResponsesEmulator(store=FileResponseStore(tmp_path)))
    first = writer.responses.create(model="gpt-4.1", input="Look up ord_9", tools=tools, store=True)

    second = reader.responses.create(
        model="gpt-4.1",
        previous_response_id=first.id,
        store=True,
        tools=tools,
        input=[{"type": "function_call_output", "call_id": first.output[-1].call_id, "output": "{}"}],
    )

    assert second.output_text == "lookup_order returned {}."


def test_scripted_call_ids_are_used_verbatim(client, emulator):
    emulator.add_script(ScriptedTurn(function_calls=[ScriptedCall("lookup_order", "{}", call_id="call_fixed")]))

    response = client.responses.create(model="gpt-4.1", input="x", store=False)

    assert response.output[-1].call_id == "call_fixed"
