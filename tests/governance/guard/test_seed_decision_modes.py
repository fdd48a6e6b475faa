"""Seed page, "Decision modes", and the BIGHUB backend over real HTTP with the real SDK."""

from __future__ import annotations

import bighub
import pytest

from governance.backends.bighub import AsyncBighubBackend
from tests.governance.guard.conftest import user
from tests.support import demo_tools
from tests.support.bighub_server import API_KEY


def test_submit_mode_posts_evaluate_with_api_key(make_guard, fake_bighub, bighub_client):
    guard = make_guard(bighub_client=bighub_client, policies=None, actor="AI_AGENT_001")
    result = guard.run(messages=user("Refund order ord_1 for 50"), model="gpt-4.1")
    evaluate = fake_bighub.bodies("/actions/evaluate")
    assert evaluate[0]["action"] == "refund_payment"
    assert (evaluate[0]["value"], evaluate[0]["target"], evaluate[0]["actor"]) == (50.0, "ord_1", "AI_AGENT_001")
    assert {r["api_key"] for r in fake_bighub.requests} == {API_KEY}
    assert result["execution"]["last"]["request_id"] == "val_1"
    assert result["execution"]["last"]["status"] == "executed"


def test_submit_v2_mode_sends_payload_form(make_guard, fake_bighub, bighub_client):
    guard = make_guard(bighub_client=bighub_client, policies=None, decision_mode="submit_v2")
    guard.run(messages=user("Look up ord_3"), model="gpt-4.1")
    body = fake_bighub.bodies("/actions/evaluate")[0]
    assert body["action"] == "lookup_order"
    assert body["context"]["arguments"] == {"order_id": "ord_3"}


def test_decision_mode_per_tool_overrides_global(make_guard, fake_bighub, bighub_client):
    guard = make_guard(bighub_client=bighub_client, policies=None)
    guard.register_tool("lookup_v2", demo_tools.lookup_order, decision_mode="submit_v2")
    assert guard.registry.get("lookup_v2").decision_mode == "submit_v2"
    assert guard.registry.get("lookup_order").decision_mode is None


@pytest.mark.parametrize(
    ("reply", "status"),
    [
        ({"enforcement_mode": "enforced", "enforced_verdict": "blocked", "reason": "limit"}, "blocked"),
        ({"enforcement_mode": "enforced", "enforced_verdict": "requires_approval"}, "approval_required"),
        ({"enforcement_mode": "review", "recommendation": "review_recommended"}, "approval_required"),
        ({"enforcement_mode": "advisory", "recommendation": "do_not_proceed", "allowed": False}, "executed"),
        ({"allowed": False, "reason": "legacy block"}, "blocked"),
        ({"allowed": True, "requires_approval": True}, "approval_required"),
    ],
)
def test_bighub_reply_mapping(make_guard, fake_bighub, bighub_client, reply, status):
    fake_bighub.decisions["lookup_order"] = reply
    result = make_guard(bighub_client=bighub_client, policies=None).run(messages=user("Look up ord_1"), model="gpt-4.1")
    assert result["execution"]["events"][0]["status"] == status


def test_advisory_reason_keeps_advice(make_guard, fake_bighub, bighub_client):
    fake_bighub.decisions["lookup_order"] = {"enforcement_mode": "advisory", "recommendation": "do_not_proceed"}
    guard = make_guard(bighub_client=bighub_client, policies=None)
    reason = guard.check_tool("lookup_order", {"order_id": "o"})["reason"]
    assert reason == "advisory only (BIGHUB recommends do_not_proceed)"


def test_wrong_api_key_fails_closed(make_guard, fake_bighub):
    client = bighub.BighubClient(api_key="wrong", base_url=fake_bighub.base_url, max_retries=0)
    result = make_guard(bighub_client=client, policies=None).run(messages=user("Look up ord_1"), model="gpt-4.1")
    assert result["execution"]["last"]["status"] == "blocked"
    assert "decision backend failed" in result["execution"]["last"]["reason"]
    assert demo_tools.EXECUTIONS == []


def test_approval_resolved_on_bighub_and_outcome_reported(make_guard, fake_bighub, bighub_client):
    fake_bighub.decisions["refund_payment"] = {"enforcement_mode": "enforced", "enforced_verdict": "requires_approval"}
    result = make_guard(bighub_client=bighub_client, policies=None).run_with_approval(
        messages=user("Refund ord_5 for 900"), model="gpt-4.1",
        on_approval_required=lambda ctx: {"resolution": "approved", "comment": "ok"},
    )
    assert result["execution"]["status"] == "completed"
    assert fake_bighub.bodies("/approvals/val_1/resolve") == [{"resolution": "approved", "comment": "ok"}]
    assert [b["status"] for b in fake_bighub.bodies("/outcomes/report")] == ["executed"]


async def test_async_bighub_backend_decides(fake_bighub):
    from governance.decisions import ActionRequest

    fake_bighub.decisions["refund_payment"] = {"allowed": False, "reason": "too much"}
    client = bighub.AsyncBighubClient(api_key=API_KEY, base_url=fake_bighub.base_url, max_retries=0)
    decision = await AsyncBighubBackend(client).evaluate(
        ActionRequest(tool="refund_payment", arguments={}, actor="a", domain="d", value=5.0))
    assert (decision.outcome, decision.reason, decision.backend) == ("blocked", "too much", "bighub")
    await client.close()
