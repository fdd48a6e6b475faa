"""Findings (governance/findings.py): what a replay says of each policy, in words a reviewer reads."""

from __future__ import annotations

import pytest

from governance import versions
from governance.findings import Finding, findings
from governance.models import Policy
from governance.replay import replay
from tests.support.decision_inputs import a_week, recorded, refund

pytestmark = pytest.mark.django_db


@pytest.fixture
def week(demo_tools_registered):
    return a_week()


def found(policy_set: dict) -> list[Finding]:
    return findings(policy_set, replay(policy_set))


def test_an_unconditional_permit_and_forbid_are_found_too_wide(week):
    """The demo policy permits every lookup and forbids every delete, whoever asks."""
    assert found(versions.snapshot()) == [
        Finding("overly_permissive", "demo",
                "demo: its statement demo#1 permitted all 2 calls of lookup_order replayed from the last 30 days: "
                "its conditions never held a call back. Narrow it (a value limit, an actor, a target), or write a "
                "policy example saying it must allow them."),
        Finding("overly_restrictive", "demo",
                "demo: its statement demo#2 forbade the one call of delete_customer replayed from the last 30 days: "
                "none of them could run. If some should, add the condition that lets them through."),
    ]


def test_a_policy_that_matches_nothing_replayed_is_ineffective(week):
    cedar = 'permit(principal == Agent::"AI_AGENT_002", action == Action::"delete_customer", resource);'
    draft = versions.draft(saving=Policy(name="agent-2-deletes", cedar=cedar))

    assert found(draft)[0] == Finding(
        "ineffective", "agent-2-deletes",
        "agent-2-deletes matched none of the 7 decisions replayed from the last 30 days, 1 call of delete_customer "
        "among them: it decided none of them (its conditions never held, or another policy's forbid decided first).")


def test_a_policy_for_a_tool_nobody_called_is_ineffective(demo_tools_registered):
    refund(50, "allowed")
    Policy.objects.filter(name="demo").update(
        cedar='forbid(principal, action == Action::"delete_customer", resource);')

    assert found(versions.snapshot()) == [Finding(
        "ineffective", "demo",
        "demo matched none of the 1 decision replayed from the last 30 days: delete_customer was not called.")]


def test_a_policy_with_conditions_that_sometimes_hold_has_no_finding(week):
    Policy.objects.filter(name="demo").update(cedar="""
permit(principal == Agent::"dashboard", action == Action::"lookup_order", resource);
forbid(principal, action == Action::"refund_payment", resource)
  when { context has target && context.target == "ord_9" };
@approval("required")
permit(principal, action == Action::"delete_customer", resource);
""")
    policy_set = versions.snapshot()
    result = replay(policy_set)

    assert result.statement_matches == {"demo": {"demo#1": {"lookup_order": 1}, "demo#2": {"refund_payment": 1},
                                                 "demo#3": {"delete_customer": 1}}}
    assert findings(policy_set, result) == []


def test_nothing_replayed_finds_nothing(demo_tools_registered):
    assert found(versions.snapshot()) == []


def test_a_forbid_that_lets_some_calls_of_its_tools_through_is_not_too_restrictive(demo_tools_registered):
    refund(50, "allowed")
    recorded("lookup_order", "allowed")
    Policy.objects.filter(name="demo").update(
        cedar='permit(principal, action == Action::"lookup_order", resource) when { context has target };\n'
              'forbid(principal, action, resource) when { context has value_cents };')

    assert [(f.kind, f.policy) for f in found(versions.snapshot())] == []
