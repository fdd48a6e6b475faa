"""The demo model picks tools from the user's words and fills their arguments from the schema."""

from __future__ import annotations

import json

import pytest

from .conftest import strict_tool


def _calls(response):
    return [(item.name, json.loads(item.arguments)) for item in response.output if item.type == "function_call"]


def _ask(client, text, tools, **kwargs):
    return client.responses.create(model="gpt-4.1", input=text, tools=tools, store=False, **kwargs)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Refund order ord_123 for 40", [("refund_payment", {"order_id": "ord_123", "amount": 40})]),
        ("Please refund $19.99 on ord_8", [("refund_payment", {"order_id": "ord_8", "amount": 19.99})]),
        ("Look up order ord_100 please", [("lookup_order", {"order_id": "ord_100"})]),
        ("lookup ord_4", [("lookup_order", {"order_id": "ord_4"})]),
        ("What's the status of ord_77?", [("lookup_order", {"order_id": "ord_77"})]),
        ("Delete customer cus_42", [("delete_customer", {"customer_id": "cus_42"})]),
        ("Remove cus_9 from our records", [("delete_customer", {"customer_id": "cus_9"})]),
    ],
)
def test_demo_model_picks_tool_and_fills_arguments(client, tools, text, expected):
    assert _calls(_ask(client, text, tools)) == expected


def test_demo_model_several_tools_in_one_message_make_several_calls(client, tools):
    response = _ask(client, "Refund ord_1 for 50 and look up ord_2", tools)

    assert _calls(response) == [
        ("refund_payment", {"order_id": "ord_1", "amount": 50}),
        ("lookup_order", {"order_id": "ord_2"}),
    ]
    call_ids = [item.call_id for item in response.output if item.type == "function_call"]
    assert len(set(call_ids)) == 2


def test_demo_model_clause_without_verb_reuses_previous_tool(client, tools):
    response = _ask(client, "Refund ord_1 for 10 and ord_2 for 15", tools)

    assert _calls(response) == [
        ("refund_payment", {"order_id": "ord_1", "amount": 10}),
        ("refund_payment", {"order_id": "ord_2", "amount": 15}),
    ]


def test_demo_model_parallel_tool_calls_false_makes_one_call(client, tools):
    response = _ask(client, "Refund ord_1 for 50 and look up ord_2", tools, parallel_tool_calls=False)

    assert _calls(response) == [("refund_payment", {"order_id": "ord_1", "amount": 50})]


def test_demo_model_missing_required_argument_asks_instead_of_calling(client, tools):
    response = _ask(client, "Refund order ord_5", tools)

    assert _calls(response) == []
    assert response.output_text == "To use refund_payment I need amount. Could you tell me?"


def test_demo_model_no_matching_tool_answers_in_text(client, tools):
    response = _ask(client, "What's the weather like?", tools)

    assert _calls(response) == []
    assert response.output_text == (
        "I couldn't match that to any of my tools (refund_payment, lookup_order and delete_customer). "
        "Tell me which action to take and the ids involved."
    )


def test_demo_model_tool_choice_none_never_calls(client, tools):
    response = _ask(client, "Delete customer cus_1", tools, tool_choice="none")

    assert _calls(response) == []
    assert response.output_text == "I can't use my tools for this request, so I haven't taken any action."


def test_demo_model_tool_choice_named_function_is_called(client, tools):
    response = _ask(client, "Something about ord_3", tools, tool_choice={"type": "function", "name": "lookup_order"})

    assert _calls(response) == [("lookup_order", {"order_id": "ord_3"})]


def test_demo_model_fills_enum_boolean_and_nullable_parameters(client):
    tool = strict_tool(
        "create_ticket",
        "Create a support ticket for a customer.",
        {
            "customer_id": {"type": "string"},
            "priority": {"type": "string", "enum": ["low", "normal", "urgent"]},
            "notify": {"type": "boolean"},
            "quantity": {"type": "integer"},
            "order_id": {"type": ["string", "null"]},
            "reason": {"type": ["string", "null"]},
        },
    )

    response = _ask(client, "Create an urgent ticket for cus_7, 3 items, don't notify them", [tool])

    assert _calls(response) == [
        (
            "create_ticket",
            {
                "customer_id": "cus_7",
                "priority": "urgent",
                "notify": False,
                "quantity": 3,
                "order_id": None,
                "reason": None,
            },
        )
    ]


def test_demo_model_answers_from_tool_outputs(client, tools):
    first = _ask(client, "Refund ord_1 for 50 and look up ord_2", tools, include=["reasoning.encrypted_content"])
    refund, lookup = [item for item in first.output if item.type == "function_call"]
    items = [
        {"role": "user", "content": "Refund ord_1 for 50 and look up ord_2"},
        *[item.model_dump(exclude_none=True) for item in first.output],
        {
            "type": "function_call_output",
            "call_id": refund.call_id,
            "output": json.dumps({"status": "denied", "reason": "denied by a reviewer"}),
        },
        {
            "type": "function_call_output",
            "call_id": lookup.call_id,
            "output": json.dumps({"order_id": "ord_2", "status": "shipped"}),
        },
    ]

    answer = client.responses.create(model="gpt-4.1", input=items, tools=tools, store=False)

    assert answer.output_text == (
        "refund_payment (order_id=ord_1, amount=50) was not done: it was denied (denied by a reviewer). "
        'lookup_order returned {"order_id": "ord_2", "status": "shipped"}.'
    )


def test_demo_model_answers_from_the_governed_runners_executed_output(client, tools):
    first = _ask(client, "Look up ord_2", tools, include=["reasoning.encrypted_content"])
    (lookup,) = [item for item in first.output if item.type == "function_call"]
    told = {"status": "executed", "output": {"order_id": "ord_2", "status": "shipped"}}
    items = [
        {"role": "user", "content": "Look up ord_2"},
        *[item.model_dump(exclude_none=True) for item in first.output],
        {"type": "function_call_output", "call_id": lookup.call_id, "output": json.dumps(told)},
    ]

    answer = client.responses.create(model="gpt-4.1", input=items, tools=tools, store=False)

    assert answer.output_text == 'lookup_order returned {"order_id": "ord_2", "status": "shipped"}.'


def test_demo_model_is_deterministic(client, tools):
    first = _ask(client, "Refund ord_1 for 50 and look up ord_2", tools)
    second = _ask(client, "Refund ord_1 for 50 and look up ord_2", tools)

    assert _calls(first) == _calls(second)


def test_demo_model_tool_choice_required_calls_even_without_a_match(client, tools):
    response = _ask(client, "hello there", tools, tool_choice="required")

    assert _calls(response) == [("refund_payment", {"order_id": "", "amount": 0})]


def test_demo_model_tool_named_outright_is_called(client, tools):
    response = _ask(client, "call delete_customer with cus_5", tools)

    assert _calls(response) == [("delete_customer", {"customer_id": "cus_5"})]
