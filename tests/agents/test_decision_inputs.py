"""Remote agents' decisions keep their inputs too (governance/decision_inputs.py), with the call's activity."""

from __future__ import annotations

import pytest

from agents.models import AgentActivity
from governance import versions
from governance.models import DecisionInput, ToolRegistration
from governance.replay import replay
from runs.models import Run
from tests.factories import make_agent_key

pytestmark = pytest.mark.django_db

COLUMNS = ("tool", "actor", "domain", "value", "target", "arguments", "redacted", "outcome", "source", "call_id")


def test_a_remote_decision_keeps_its_inputs_on_the_sessions_run(post, agent):
    body = {"action": "refund_payment", "context": {"arguments": {"order_id": "ord_1", "amount": 250},
                                                    "session_id": "sess-1", "call_id": "call_9"}}

    answer = post("/actions/evaluate", body, agent[1]).json()

    row = DecisionInput.objects.get()
    assert (row.run_id, row.request_id) == (Run.objects.get().pk, AgentActivity.objects.get().payload["answer"][
        "validation_id"])
    assert answer["result"] == "requires_approval"
    assert list(DecisionInput.objects.values_list(*COLUMNS)) == [
        ("refund_payment", "AI_AGENT_001", "customer_transactions", 250.0, "ord_1",
         {"order_id": "ord_1", "amount": 250}, False, "requires_approval", "api", "call_9")]


def test_a_redacted_target_sent_without_arguments_is_kept_as_shown(post, agent):
    ToolRegistration.objects.filter(name="refund_payment").update(redact_fields="order_id")

    post("/actions/evaluate", {"action": "refund_payment", "value": 250, "target": "ord_secret",
                               "actor": "AI_AGENT_001", "domain": "customer_transactions"}, agent[1])

    assert list(DecisionInput.objects.values_list("value", "target", "arguments", "redacted")) == [
        (250.0, "[redacted]", {}, True)]


def test_a_batch_keeps_one_row_per_decision_and_replays_unchanged(post, agent):
    body = {"actor": "AI_AGENT_001", "domain": "customer_transactions",
            "actions": [{"action": "lookup_order"}, {"action": "delete_customer"},
                        {"action": "refund_payment", "value": 250}, {"action": "refund_payment", "value": 50}]}

    answers = post("/actions/evaluate/batch", body, agent[1]).json()

    assert [a["result"] for a in answers] == ["allowed", "blocked", "requires_approval", "allowed"]
    assert list(DecisionInput.objects.order_by("id").values_list("tool", "outcome")) == [
        ("lookup_order", "allowed"), ("delete_customer", "blocked"), ("refund_payment", "requires_approval"),
        ("refund_payment", "allowed")]
    result = replay(versions.snapshot())
    assert (result.total, result.changed) == (4, 0)


def test_a_call_of_a_disabled_tool_is_not_a_policy_decision_and_keeps_nothing(post, agent):
    ToolRegistration.objects.filter(name="lookup_order").update(enabled=False)

    answer = post("/actions/evaluate", {"action": "lookup_order", "actor": "AI_AGENT_001",
                                        "domain": "customer_transactions"}, agent[1]).json()

    assert answer["result"] == "blocked"
    assert DecisionInput.objects.count() == 0


def test_a_key_with_a_150_character_actor_gets_its_decision_and_keeps_its_inputs(post, demo_tools_registered):
    """The longest actor a key may have (on PostgreSQL a shorter column refused the row: a 500, the call lost)."""
    actor = "a" * 150
    _, secret = make_agent_key(actor=actor)

    response = post("/actions/evaluate", {"action": "refund_payment", "value": 250, "actor": actor,
                                          "domain": "customer_transactions"}, secret)

    assert response.status_code == 200
    assert response.json()["result"] == "requires_approval"
    assert list(DecisionInput.objects.values_list("actor", "outcome")) == [(actor, "requires_approval")]


@pytest.mark.parametrize(("path", "body", "loc"), [
    ("/actions/evaluate", {"action": "lookup_order", "metadata": {"call_id": "c" * 201}},
     ["body", "metadata", "call_id"]),
    ("/actions/evaluate/batch", {"actions": [{"action": "lookup_order"},
                                             {"action": "lookup_order", "metadata": {"call_id": "c" * 300}}]},
     ["body", "actions", 1, "metadata", "call_id"]),
])
def test_a_call_id_longer_than_is_kept_is_refused_naming_it_and_nothing_is_recorded(post, agent, path, body, loc):
    response = post(path, body, agent[1])

    assert response.status_code == 422
    assert response.json()["detail"] == [{"loc": loc, "msg": "call_id must be at most 200 characters",
                                          "type": "value_error"}]
    assert (DecisionInput.objects.count(), AgentActivity.objects.count()) == (0, 0)


def test_a_200_character_call_id_in_metadata_is_kept(post, agent):
    post("/actions/evaluate", {"action": "lookup_order", "metadata": {"call_id": "c" * 200}}, agent[1])

    assert list(DecisionInput.objects.values_list("call_id", flat=True)) == ["c" * 200]


REFUND_SCHEMA = {"type": "object", "required": ["order_id", "amount"], "properties": {
    "order_id": {"type": "string"}, "amount": {"type": "number"}, "cvv": {"type": "integer"},
    "customer": {"type": "object", "properties": {"id": {"type": "string"}, "email": {"type": "string"}}}}}


def refund(post, secret, arguments, **tool):
    ToolRegistration.objects.filter(name="refund_payment").update(schema_override=REFUND_SCHEMA, **tool)
    return post("/actions/evaluate", {"action": "refund_payment", "context": {"arguments": arguments}}, secret)


def test_a_target_whose_argument_is_partly_scrubbed_is_kept_as_shown_and_replays_unchanged(post, agent):
    key = "sk-" + "A1b2C3d4" * 3

    answer = refund(post, agent[1], {"order_id": f"https://x/?key={key}", "amount": 50}).json()

    assert answer["result"] == "allowed"
    assert list(DecisionInput.objects.values_list("value", "target", "arguments", "redacted")) == [
        (50.0, "https://x/?key=[secret]", {"order_id": "https://x/?key=[secret]", "amount": 50}, True)]
    result = replay(versions.snapshot())
    assert (result.total, result.changed) == (1, 0)


def test_a_target_with_a_redacted_field_inside_is_kept_as_shown_and_replays_unchanged(post, agent):
    customer = {"id": "cus_1", "email": "ann@example.com"}

    answer = refund(post, agent[1], {"order_id": "ord_1", "amount": 250, "customer": customer},
                    target_argument="customer", redact_fields="customer.email").json()

    assert answer["result"] == "requires_approval"
    row = DecisionInput.objects.get()
    assert (row.value, row.target, row.redacted) == (250.0, str({"id": "cus_1", "email": "[redacted]"}), True)
    assert "ann@example.com" not in str(AgentActivity.objects.get().payload)  # nor in what the API shows
    result = replay(versions.snapshot())
    assert (result.total, result.changed) == (1, 0)


def test_a_value_equal_to_a_redacted_number_is_kept_and_replays_unchanged(post, agent):
    answer = refund(post, agent[1], {"order_id": "ord_1", "amount": 250, "cvv": 250}, redact_fields="cvv").json()

    assert answer["result"] == "requires_approval"
    assert list(DecisionInput.objects.values_list("value", "target", "arguments", "redacted")) == [
        (250.0, "ord_1", {"order_id": "ord_1", "amount": 250, "cvv": "[redacted]"}, True)]
    result = replay(versions.snapshot())
    assert (result.total, result.changed) == (1, 0)
