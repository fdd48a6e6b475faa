"""A remote agent's call decided through the API is traced like a run's (governance/telemetry.py): one
`governance.decide` span per decision, with its outcome, made by the same gate the runs decide through."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_api_decision_is_a_decision_span(post, agent, traces):
    _key, secret = agent
    response = post("/actions/evaluate", {"action": "refund_payment", "value": 250, "actor": "AI_AGENT_001",
                                          "domain": "customer_transactions"}, secret)
    assert response.status_code == 200

    (span,) = traces.get_finished_spans()
    assert span.name == "governance.decide refund_payment"
    assert dict(span.attributes) == {
        "gen_ai.tool.name": "refund_payment",
        "governance.action": "refund_payment",
        "governance.actor": "AI_AGENT_001",
        "governance.domain": "customer_transactions",
        "governance.decision.mode": "submit",
        "governance.decision.recheck": False,
        "governance.decision.outcome": "requires_approval",
        "governance.decision.reason": response.json()["reason"],
        "governance.decision.backend": "embedded",
        "governance.decision.request_id": response.json()["validation_id"],
        "governance.policy.ids": tuple(response.json()["policy_ids"]),
    }
