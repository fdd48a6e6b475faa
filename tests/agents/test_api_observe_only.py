"""Observe-only domains on the agents' API: a call the policies would block or send for review is allowed,
and its activity and audit record keep what it would have been (governance/observe.py)."""

from __future__ import annotations

import json

import pytest

from agents.models import AgentActivity
from audit.models import AuditRecord
from governance.models import DomainDefault

pytestmark = pytest.mark.django_db

REFUND_500 = {"action": "refund_payment", "value": 500, "actor": "AI_AGENT_001", "domain": "customer_transactions"}
UNKNOWN = {"action": "send_invoice", "actor": "AI_AGENT_001", "domain": "customer_transactions"}


@pytest.fixture
def observed(agent):
    DomainDefault.objects.update_or_create(domain="customer_transactions", defaults={"observe_only": True})
    return agent


@pytest.mark.parametrize(("call", "would_have"), [(REFUND_500, "requires_approval"), (UNKNOWN, "blocked")])
def test_a_remote_call_in_an_observe_only_domain_is_allowed_and_recorded_as_it_would_have_been(
        post, observed, call, would_have):
    answer = post("/actions/evaluate", call, observed[1]).json()

    assert (answer["result"], answer["approval_id"]) == ("allowed", None)
    assert "(observe only: would have " in answer["reason"]
    activity = AgentActivity.objects.get(kind="decision")
    assert (activity.status, activity.payload["observed_outcome"]) == ("allowed", would_have)
    record = AuditRecord.objects.get(kind="decision", tool=call["action"])
    assert (record.decision, json.loads(record.details)["observed_outcome"]) == ("allowed", would_have)
