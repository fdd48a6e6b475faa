"""The real openai SDK parses what the emulator sends: JSON responses and SSE streams, sync and async."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseReasoningItem,
    ResponseTextDeltaEvent,
)
from pydantic import BaseModel

from governance.emulator import DEMO_MODEL_LABEL, Fault, ScriptedCall, ScriptedTurn, client_emulator, make_openai_client
from governance.emulator.transport import sync_transport

TEXT_SEQUENCE = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",  # reasoning
    "response.output_item.done",
    "response.output_item.added",  # message
    "response.content_part.added",
]


def test_create_non_streamed_text_parses_into_output_text(client, emulator):
    emulator.add_script(ScriptedTurn(text="Hello there, how can I help?"))

    response = client.responses.create(model="gpt-4.1", input="hi", store=False)

    assert isinstance(response, Response)
    assert response.output_text == "Hello there, how can I help?"
    assert response.status == "completed"
    assert response.model == "gpt-4.1"
    assert response.id.startswith("resp_") and len(response.id) == 53
    message = response.output[-1]
    assert isinstance(message, ResponseOutputMessage)
    assert message.id.startswith("msg_") and message.role == "assistant" and message.status == "completed"
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens > 0
    assert response.usage.input_tokens_details.cached_tokens == 0


def test_create_non_streamed_function_calls_parse_as_function_tool_calls(client, tools):
    response = client.responses.create(model="gpt-4.1", input="Refund order ord_123 for 40", tools=tools, store=False)

    calls = [item for item in response.output if item.type == "function_call"]
    assert len(calls) == 1
    call = calls[0]
    assert isinstance(call, ResponseFunctionToolCall)
    assert call.name == "refund_payment"
    assert json.loads(call.arguments) == {"order_id": "ord_123", "amount": 40}
    assert call.call_id.startswith("call_") and call.id.startswith("fc_") and call.status == "completed"
    assert response.output_text == ""


def test_create_demo_model_response_is_labelled_in_metadata(client):
    response = client.responses.create(model="gpt-4.1", input="hello", store=False, metadata={"run": "r1"})

    assert response.metadata == {"run": "r1", "emulator": "demo-model"}
    assert DEMO_MODEL_LABEL == "demo model (offline emulator)"


def test_create_reasoning_encrypted_content_present_only_when_included(client):
    plain = client.responses.create(model="o4-mini", input="hello", store=False)
    included = client.responses.create(
        model="o4-mini", input="hello", store=False, include=["reasoning.encrypted_content"]
    )

    assert isinstance(plain.output[0], ResponseReasoningItem)
    assert plain.output[0].encrypted_content is None
    assert isinstance(included.output[0], ResponseReasoningItem)
    assert included.output[0].id.startswith("rs_")
    assert isinstance(included.output[0].encrypted_content, str) and len(included.output[0].encrypted_content) > 40
    assert included.output[0].summary == []


def test_create_reasoning_summary_when_requested(client, tools):
    response = client.responses.create(
        model="o4-mini", input="Delete customer cus_9", tools=tools, store=False, reasoning={"summary": "auto"}
    )

    summary = response.output[0].summary
    assert len(summary) == 1 and "delete_customer(customer_id=cus_9)" in summary[0].text


def test_create_stream_true_yields_real_event_sequence(client, emulator):
    emulator.add_script(ScriptedTurn(text="One two three four"))

    events = list(client.responses.create(model="gpt-4.1", input="hi", store=False, stream=True))

    types = [event.type for event in events]
    assert types[:6] == TEXT_SEQUENCE
    deltas = [event for event in events if isinstance(event, ResponseTextDeltaEvent)]
    assert [event.delta for event in deltas] == ["One ", "two ", "three ", "four"]
    assert types[-5:] == [
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    assert events[0].response.status == "in_progress" and events[0].response.output == []
    assert isinstance(events[-1], ResponseCompletedEvent)
    assert events[-1].response.output_text == "One two three four"


def test_create_stream_true_function_call_arguments_stream_in_chunks(client, tools):
    stream = client.responses.create(
        model="gpt-4.1", input="Refund ord_1 for 50", tools=tools, store=False, stream=True
    )
    events = list(stream)

    deltas = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert len(deltas) > 1
    assert "".join(deltas) == done.arguments == '{"order_id": "ord_1", "amount": 50}'
    added = next(e for e in events if e.type == "response.output_item.added" and e.item.type == "function_call")
    assert added.item.arguments == "" and added.item.status == "in_progress"


def test_create_stream_refusal_emits_refusal_events(client, emulator):
    emulator.add_script(ScriptedTurn(refusal="I can't help with that."))

    events = list(client.responses.create(model="gpt-4.1", input="x", store=False, stream=True))

    types = [event.type for event in events]
    assert "response.refusal.delta" in types
    done = next(e for e in events if e.type == "response.refusal.done")
    assert done.refusal == "I can't help with that."
    final = events[-1].response
    assert final.output[-1].content[0].type == "refusal"
    assert final.output_text == ""


def test_stream_helper_get_final_response_collects_text_and_calls(client, tools):
    with client.responses.stream(
        model="gpt-4.1", input="Refund ord_1 for 50 and look up ord_2", tools=tools, store=False
    ) as stream:
        text_events = [event.type for event in stream]
        final = stream.get_final_response()

    assert text_events[-1] == "response.completed"
    calls = [item for item in final.output if item.type == "function_call"]
    assert [(c.name, c.parsed_arguments) for c in calls] == [
        ("refund_payment", {"order_id": "ord_1", "amount": 50}),
        ("lookup_order", {"order_id": "ord_2"}),
    ]


def test_stream_helper_text_deltas_carry_snapshots(client, emulator):
    emulator.add_script(ScriptedTurn(text="Refund issued for ord_1."))

    with client.responses.stream(model="gpt-4.1", input="x", store=False) as stream:
        snapshots = [event.snapshot for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()

    assert snapshots[-1] == "Refund issued for ord_1." == final.output_text


async def test_async_create_non_streamed_and_streamed(aclient, emulator, tools):
    emulator.add_script(ScriptedTurn(function_calls=[ScriptedCall("lookup_order", {"order_id": "ord_7"})]))

    response = await aclient.responses.create(model="gpt-4.1", input="x", tools=tools, store=False)
    stream = await aclient.responses.create(model="gpt-4.1", input="hello", store=False, stream=True)
    events = [event async for event in stream]

    assert response.output[-1].name == "lookup_order"
    assert json.loads(response.output[-1].arguments) == {"order_id": "ord_7"}
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert events[-1].response.output_text.startswith("I have no tools available here")


async def test_async_stream_helper_get_final_response(aclient, tools):
    async with aclient.responses.stream(
        model="gpt-4.1", input="Delete customer cus_42", tools=tools, store=False
    ) as stream:
        final = await stream.get_final_response()

    call = final.output[-1]
    assert call.name == "delete_customer" and call.parsed_arguments == {"customer_id": "cus_42"}


def test_make_openai_client_builds_real_sdk_client_bound_to_emulator(emulator):
    sdk_client = make_openai_client(emulator, max_retries=3)

    assert isinstance(sdk_client, openai.OpenAI)
    assert sdk_client.max_retries == 3
    assert str(sdk_client.base_url) == "http://emulator.local/v1/"
    assert client_emulator(sdk_client) is emulator
    assert make_openai_client(emulator).max_retries == 0


def test_requests_records_the_bodies_the_client_sent(client, emulator, tools):
    client.responses.create(model="gpt-4.1", input="hi", tools=tools, store=False, temperature=0.2)

    assert len(emulator.requests) == 1
    sent = emulator.requests[0]
    assert sent["store"] is False and sent["temperature"] == 0.2 and sent["tools"] == tools
    assert sent["input"] == "hi"


def test_legacy_httpx_client_transport_works_with_the_sdk(emulator):
    legacy = openai.OpenAI(
        api_key="sk-test",
        base_url="http://emulator.local/v1",
        max_retries=0,
        http_client=httpx.Client(transport=sync_transport(emulator, httpx)),
    )
    emulator.add_script(ScriptedTurn(text="via httpx"))

    events = list(legacy.responses.create(model="gpt-4.1", input="hi", store=False, stream=True))
    emulator.inject(Fault.timeout())

    assert events[-1].response.output_text == "via httpx"
    with pytest.raises(openai.APITimeoutError):
        legacy.responses.create(model="gpt-4.1", input="hi", store=False)


def test_parse_with_text_format_returns_schema_valid_json(client):
    class Refund(BaseModel):
        order_id: str
        amount: float
        urgent: bool
        note: str

    parsed = client.responses.parse(
        model="gpt-4.1", input="Refund ord_3 for 12.5 urgently", text_format=Refund, store=False
    )

    assert parsed.output_parsed == Refund(order_id="ord_3", amount=12.5, urgent=True, note="")
