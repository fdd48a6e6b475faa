"""Remote agents' decisions keep their inputs too (governance/decision_inputs.py), with the call's activity."""

from __future__ import annotations

import pytest

from agents.models import AgentActivity
from governance import versions
from governance.models import DecisionInput, ToolRegistration
from governance.replay import replay
from runs.models import Run

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


def test_a_redacted_target_sent_without_arguments_is_not_kept(post, agent):
    ToolRegistration.objects.filter(name="refund_payment").update(redact_fields="order_id")

    post("/actions/evaluate", {"action": "refund_payment", "value": 250, "target": "ord_secret",
                               "actor": "AI_AGENT_001", "domain": "customer_transactions"}, agent[1])

    assert list(DecisionInput.objects.values_list("value", "target", "arguments", "redacted")) == [
        (250.0, None, {}, True)]


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
