"""The kill switch on the agents' API: a remote agent's calls are decided through the same pause check as
the dashboard's runs, single, batched, dry runs (an approved call's re-check) and calls of tools the
dashboard does not know alike."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from governance import pauses
from governance.models import DomainDefault
from tests.factories import make_user

pytestmark = pytest.mark.django_db

REFUND_50 = {"action": "refund_payment", "value": 50, "actor": "AI_AGENT_001", "domain": "customer_transactions"}


@pytest.fixture
def rita(db):
    user = make_user("rita", reviewer=True)
    user.user_permissions.add(Permission.objects.get(codename="pause_decisions"))
    return user


@pytest.mark.parametrize(("scope", "value"), [
    ("tool", "refund_payment"), ("actor", "AI_AGENT_001"), ("domain", "customer_transactions"), ("everything", ""),
])
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_paused_call_is_blocked_for_a_remote_agent_naming_who_and_when(post, agent, rita, scope, value, dry_run):
    assert post("/actions/evaluate", REFUND_50, agent[1]).json()["result"] == "allowed"
    pause, _ = pauses.pause(scope=scope, value=value, by=rita)

    answer = post("/actions/evaluate", {**REFUND_50, "dry_run": dry_run}, agent[1]).json()

    assert (answer["result"], answer["allowed"], answer["blocked_by"]) == ("blocked", False, f"pause:{pause.what}")
    assert answer["reason"].startswith(f"{pause.what} paused by rita at ")


def test_a_batch_blocks_only_the_paused_calls(post, agent, rita):
    pauses.pause(scope="tool", value="refund_payment", by=rita)
    lookup = {"action": "lookup_order", "actor": "AI_AGENT_001", "domain": "customer_transactions"}

    answers = post("/actions/evaluate/batch", {"actions": [REFUND_50, lookup]}, agent[1]).json()

    assert [a["result"] for a in answers] == ["blocked", "allowed"]


def test_an_unknown_tool_whose_domain_allows_it_is_blocked_while_everything_is_paused(post, agent, rita):
    DomainDefault.objects.filter(domain="customer_transactions").update(outcome="allowed")
    call = {"action": "send_invoice", "actor": "AI_AGENT_001", "domain": "customer_transactions"}
    assert post("/actions/evaluate", call, agent[1]).json()["result"] == "allowed"
    pause, _ = pauses.pause(scope="everything", by=rita)

    answer = post("/actions/evaluate", call, agent[1]).json()

    assert answer["result"] == "blocked"
    assert answer["reason"].startswith("everything paused by rita at ")
    pauses.resume(pause_id=pause.pk, by=rita)
    assert post("/actions/evaluate", call, agent[1]).json()["result"] == "allowed"
