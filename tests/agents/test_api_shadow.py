"""Shadow policies never change a remote agent's decision; their differences name the session's run."""

from __future__ import annotations

import pytest

from agents.models import RemoteSession
from governance.models import Policy, ShadowDifference
from tests.factories import make_agent_key

pytestmark = pytest.mark.django_db

LOOKUP = {"action": "lookup_order", "actor": "AI_AGENT_001", "domain": "customer_transactions",
          "context": {"call_id": "call_7", "arguments": {"order_id": "ord_1"}}}


@pytest.fixture
def shadow_forbid(agent):
    return Policy.objects.create(name="no-lookups", mode=Policy.Mode.SHADOW,
                                 cedar='forbid(principal, action == Action::"lookup_order", resource);')


def test_a_shadow_forbid_does_not_change_a_remote_decision_and_is_recorded(post, agent, shadow_forbid):
    answer = post("/actions/evaluate", LOOKUP, agent[1]).json()

    assert (answer["result"], answer["policy_ids"]) == ("allowed", ["demo#1"])
    run_id = RemoteSession.objects.get().run_id
    assert list(ShadowDifference.objects.values_list(
        "policy", "tool", "actor", "run_id", "call_id", "request_id", "real_outcome", "shadow_outcome")) == [
        (shadow_forbid.pk, "lookup_order", "AI_AGENT_001", run_id, "call_7", answer["validation_id"],
         "allowed", "blocked")]


def test_a_remote_dry_run_records_no_difference(post, agent, shadow_forbid):
    answer = post("/actions/evaluate", {**LOOKUP, "dry_run": True}, agent[1]).json()

    assert answer["result"] == "allowed"
    assert ShadowDifference.objects.count() == 0


def test_a_key_with_a_150_character_actor_gets_its_decision_and_its_shadow_difference(post, shadow_forbid):
    """The longest actor a key may have fits the difference's row too (on PostgreSQL a shorter column refused
    it inside the call's transaction: a 500, the call lost)."""
    actor = "a" * 150
    _, secret = make_agent_key(actor=actor)

    response = post("/actions/evaluate", {**LOOKUP, "actor": actor}, secret)

    assert response.status_code == 200 and response.json()["result"] == "allowed"
    assert list(ShadowDifference.objects.values_list("actor", "shadow_outcome")) == [(actor, "blocked")]
