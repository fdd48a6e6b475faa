"""Replay (governance/replay.py): the recorded decisions of the window decided again with a policy set."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from governance import replay as replay_module
from governance import versions
from governance.models import DecisionInput, Policy, PolicyExample, ToolRegistration
from governance.replay import ReplayResult, TooManyDecisions, replay
from tests.factories import paused_run, start_run_now
from tests.support.decision_inputs import RUN, a_week, recorded, refund

pytestmark = pytest.mark.django_db


@pytest.fixture
def week(demo_tools_registered):
    return a_week()


def edited_tool(name: str, **changes) -> ToolRegistration:
    tool = ToolRegistration.objects.get(name=name)
    for field, value in changes.items():
        setattr(tool, field, value)
    return tool


def test_replaying_the_active_set_of_real_runs_changes_nothing(operator, demo_tools_registered):
    start_run_now(operator, "Look up order ord_100", tools=("lookup_order",))
    paused_run(operator)
    start_run_now(operator, "Delete customer cus_9", tools=("delete_customer",))

    result = replay(versions.snapshot())

    assert (result.total, result.changed, result.redacted, result.cancelled) == (3, 0, 0, False)
    assert (result.transitions, result.groups, result.examples) == ([], [], [])
    assert result.tools_seen == {"delete_customer": 1, "lookup_order": 1, "refund_payment": 1}
    assert result.policy_matches == {"demo": 2}  # the lookup permit and the delete forbid; refunds: thresholds
    assert result.example_failures == []


def test_a_lower_approval_threshold_changes_exactly_the_calls_between_the_two(week):
    draft = versions.draft(saving=edited_tool("refund_payment", approve_above=Decimal("60")))

    result = replay(draft)

    assert (result.total, result.changed) == (7, 1)
    assert result.transitions == [("allowed", "requires_approval", 1)]
    assert result.groups == [{"tool": "refund_payment", "actor": "dashboard", "from": "allowed",
                              "to": "requires_approval", "count": 1}]
    [example] = result.examples
    assert {k: example[k] for k in ("run_id", "call_id", "tool", "from", "to")} == {
        "run_id": str(RUN), "call_id": week[1].call_id, "tool": "refund_payment", "from": "allowed",
        "to": "requires_approval"}
    assert example["reason"] == ("refund_payment requires approval: value 80.00 is above 60 "
                                 "(policy refund_payment-threshold)")


def test_an_added_forbid_changes_the_calls_it_matches_and_counts_its_matches(week):
    cedar = 'forbid(principal, action == Action::"refund_payment", resource) when { context.target == "ord_1" };'
    draft = versions.draft(saving=Policy(name="no-refunds-ord-1", cedar=cedar))

    result = replay(draft)

    assert result.changed == 2  # 50 allowed and 250 requiring approval; 20,000 was blocked already
    assert result.transitions == [("allowed", "blocked", 1), ("requires_approval", "blocked", 1)]
    assert [(g["from"], g["to"], g["count"]) for g in result.groups] == [
        ("allowed", "blocked", 1), ("requires_approval", "blocked", 1)]
    assert result.policy_matches == {"demo": 3, "no-refunds-ord-1": 3}
    assert [e["call_id"] for e in result.examples] == [week[0].call_id, week[2].call_id]


def test_a_tool_disabled_in_the_draft_blocks_its_calls_as_policy_examples_are_blocked(week):
    result = replay(versions.draft(saving=edited_tool("lookup_order", enabled=False)))

    assert result.groups == [
        {"tool": "lookup_order", "actor": "AI_AGENT_001", "from": "allowed", "to": "blocked", "count": 1},
        {"tool": "lookup_order", "actor": "dashboard", "from": "allowed", "to": "blocked", "count": 1}]
    assert {e["reason"] for e in result.examples} == {"lookup_order is disabled"}


def test_the_policy_examples_the_draft_breaks_are_named(week):
    PolicyExample.objects.create(name="small refunds run", tool="refund_payment",
                                 arguments={"order_id": "ord_1", "amount": 80}, expected="allowed")

    result = replay(versions.draft(saving=edited_tool("refund_payment", approve_above=Decimal("60"))))

    assert result.example_failures == [
        "example “small refunds run” must get allowed but gets requires approval "
        "(refund_payment requires approval: value 80.00 is above 60 (policy refund_payment-threshold))"]


def test_calls_recorded_with_redacted_arguments_are_counted_and_replayed_with_the_markers(demo_tools_registered):
    # The order is the target argument: redacted, the gate keeps no target either.
    recorded("refund_payment", "allowed", value=50, arguments={"order_id": "[redacted]", "amount": 50}, redacted=True)
    refund(60, "allowed")
    cedar = ('forbid(principal, action == Action::"refund_payment", resource) '
             'when { context has target && context.target == "ord_1" };')

    result = replay(versions.draft(saving=Policy(name="no-refunds-ord-1", cedar=cedar)))

    assert (result.total, result.redacted, result.changed) == (2, 1, 1)  # the redacted order is not seen as ord_1
    assert [e["call_id"] for e in result.examples] == ["call_2"]


def test_only_the_window_is_replayed(demo_tools_registered):
    refund(50, "allowed", days_ago=2)
    refund(50, "allowed", days_ago=40)

    assert replay(versions.snapshot(), days=30).total == 1
    assert replay(versions.snapshot(), days=60).total == 2


def test_progress_is_told_every_chunk_and_returning_false_stops_the_replay(demo_tools_registered, monkeypatch):
    monkeypatch.setattr(replay_module, "CHUNK", 2)
    for amount in (50, 60, 70, 80, 90):
        refund(amount, "allowed")
    told = []

    def progress(done: int, total: int) -> bool:
        told.append((done, total))
        return done < 4

    result = replay(versions.draft(saving=edited_tool("refund_payment", approve_above=Decimal("10"))),
                    progress=progress)

    assert told == [(2, 5), (4, 5)]
    assert (result.total, result.changed, result.cancelled) == (4, 4, True)


def test_a_result_survives_json(week):
    result = replay(versions.draft(saving=edited_tool("refund_payment", approve_above=Decimal("60"))))

    assert ReplayResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_examples_show_every_group_before_more_of_one(demo_tools_registered):
    refunds = [refund(50 + i, "allowed") for i in range(25)]
    lookup = recorded("lookup_order", "allowed", arguments={"order_id": "ord_1"})
    draft = versions.draft(saving=edited_tool("refund_payment", approve_above=Decimal("10")))
    draft["tools"]["lookup_order"]["enabled"] = False

    result = replay(draft)

    assert result.changed == 26
    assert [e["call_id"] for e in result.examples] == [r.call_id for r in refunds[:19]] + [lookup.call_id]


def test_domains_keeps_only_the_calls_of_those_domains(week):
    other = recorded("restart_server", "allowed", actor="OPS_BOT")
    DecisionInput.objects.filter(pk=other.pk).update(domain="infrastructure_devops")

    assert replay(versions.snapshot()).total == 8
    kept = replay(versions.snapshot(), domains=["customer_transactions"])
    assert (kept.total, kept.changed, "restart_server" in kept.tools_seen) == (7, 0, False)
    assert replay(versions.snapshot(), domains=["infrastructure_devops"]).groups == [
        {"tool": "restart_server", "actor": "OPS_BOT", "from": "allowed", "to": "blocked", "count": 1}]


def test_with_a_baseline_a_call_changes_only_when_the_two_sets_disagree(week):
    edited_tool("refund_payment", approve_above=Decimal("60")).save()  # the 80 recorded as allowed needs approval now
    assert replay(versions.snapshot()).changed == 1  # against the recorded outcomes
    assert replay(versions.snapshot(), baseline=versions.snapshot()).changed == 0

    result = replay(versions.draft(saving=edited_tool("refund_payment", approve_above=Decimal("10"))),
                    baseline=versions.snapshot())

    assert (result.changed, result.transitions) == (1, [("allowed", "requires_approval", 1)])
    assert [e["call_id"] for e in result.examples] == [week[0].call_id]  # the 50; not the 80


def test_a_window_over_the_limit_is_refused_before_any_call_is_decided(week):
    with pytest.raises(TooManyDecisions) as refused:
        replay(versions.snapshot(), limit=6)
    assert (refused.value.count, refused.value.limit) == (7, 6)
    assert replay(versions.snapshot(), limit=7).total == 7
