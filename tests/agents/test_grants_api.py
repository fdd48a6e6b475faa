"""Sticky grants for remote agents: a reviewer's grant settles the agent's later calls of the tool through the
API (`agents.approval_hook.granted`, the same `approvals.grants.settle_by_grant` the worker asks)."""

from __future__ import annotations

import pytest

from approvals import grants
from approvals.models import ApprovalRequest, GrantUse
from audit.models import AuditRecord

pytestmark = pytest.mark.django_db

REFUND_250 = {"action": "refund_payment", "value": 250}


def _granted(post, agent, reviewer, *, resolution="approved", scope="actor"):
    """The first refund raises a request; the reviewer resolves it with a grant, which is returned."""
    post("/actions/evaluate", {**REFUND_250, "context": {"session_id": "s-1"}}, agent[1])
    approval = ApprovalRequest.objects.select_related("run").get()
    return grants.resolve_with_grant(approval=approval, reviewer=reviewer, resolution=resolution, scope=scope,
                                     minutes=15)


def test_an_actor_grant_allows_the_agents_next_call_in_another_session_with_no_request(post, agent, reviewer):
    grant = _granted(post, agent, reviewer)

    answer = post("/actions/evaluate", {**REFUND_250, "context": {"session_id": "s-2"}}, agent[1]).json()

    assert (answer["result"], answer["allowed"], answer["approval_id"]) == ("allowed", True, None)
    assert answer["reason"].startswith(f"approved by grant #{grant.pk} of rita (actor AI_AGENT_001 until ")
    assert ApprovalRequest.objects.count() == 1
    assert AuditRecord.objects.get(status="grant_settled").details_data["grant_id"] == grant.pk


def test_a_deny_grant_for_the_session_blocks_its_next_call_naming_the_grant(post, agent, reviewer):
    grant = _granted(post, agent, reviewer, resolution="denied", scope="run")

    same = post("/actions/evaluate", {**REFUND_250, "context": {"session_id": "s-1"}}, agent[1]).json()
    other = post("/actions/evaluate", {**REFUND_250, "context": {"session_id": "s-2"}}, agent[1]).json()

    assert (same["result"], same["reason"].split(";")[0]) == ("blocked", grant.described)
    assert other["result"] == "requires_approval"  # another session: the run grant does not cover it


def test_a_grant_never_allows_a_call_policy_blocks(post, agent, reviewer):
    _granted(post, agent, reviewer)

    answer = post("/actions/evaluate", {**REFUND_250, "value": 50_000, "context": {"session_id": "s-1"}},
                  agent[1]).json()

    assert answer["result"] == "blocked"
    assert "grant" not in answer["reason"]
    assert GrantUse.objects.count() == 0
