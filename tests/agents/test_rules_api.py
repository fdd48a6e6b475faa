"""BIGHUB's `rules.validate`, `rules.validate_dry_run` and `rules.dry_run` through the published `bighub` SDK,
unmodified, against the real ASGI server on loopback (agents/rules.py, docs/api.md "Rules").

validate decides as /actions/evaluate does and records nothing; dry_run replays the decisions recorded
through the API with the rule added and reports exactly what changes, and the fields it cannot map.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import bighub
import httpx
import pytest
from django.utils import timezone

from agents import rules
from agents.schemas import RuleDryRunIn
from governance.models import DecisionInput, Policy, PolicySetVersion, ToolRegistration
from tests.agents.support import DEMO_CALLS, api_state, client_for
from tests.factories import make_agent_key, make_user

pytestmark = pytest.mark.django_db(transaction=True)

ACTOR, DOMAIN = "AI_AGENT_001", "customer_transactions"


def _state() -> dict[str, int]:
    """What a request could have written: the API's rows, decision inputs and the policy set."""
    return {**api_state(), "decision_inputs": DecisionInput.objects.count(), "policies": Policy.objects.count(),
            "versions": PolicySetVersion.objects.count()}


@pytest.fixture
def approver_sdk(api_server, secret):
    """The SDK with an approver key acting for alice, a reviewer (who sees every run): it may dry-run rules."""
    key = make_agent_key("ops-bot", role="approver", user=make_user("alice", reviewer=True))
    client = client_for(api_server, key[1])
    yield client
    client.close()


def _record(sdk, calls) -> None:
    """Decide (and so record) each (tool, arguments) through /actions/evaluate."""
    for tool, arguments in calls:
        sdk.actions.evaluate(action=tool, actor=ACTOR, domain=DOMAIN, context={"arguments": arguments})


# --- validate ----------------------------------------------------------------------------------------------


def test_validate_answers_what_evaluate_decides_and_records_nothing(sdk):
    before = _state()
    validated = [sdk.rules.validate({"action": tool, "actor": ACTOR, "metadata": {"arguments": arguments}})
                 for tool, arguments, _ in DEMO_CALLS]
    dry = [sdk.rules.validate_dry_run(bighub.RuleValidateModel(action=tool, actor=ACTOR,
                                                               metadata={"arguments": arguments}))
           for tool, arguments, _ in DEMO_CALLS]
    assert _state() == before
    evaluated = [sdk.actions.evaluate(action=tool, actor=ACTOR, domain=DOMAIN, context={"arguments": arguments})
                 for tool, arguments, _ in DEMO_CALLS]
    assert _state()["decision_inputs"] == before["decision_inputs"] + len(DEMO_CALLS)  # evaluate does record
    for answers in (validated, dry):
        assert [(a["result"], a["decision"], a["outcome"], a["allowed"], a["reason"], a["policy_ids"], a["dry_run"])
                for a in answers] == [
            (e["result"], e["result"], e["result"], e["allowed"], e["reason"], e["policy_ids"], True)
            for e in evaluated]
    assert [a["result"] for a in validated] == [outcome for _, _, outcome in DEMO_CALLS]
    assert (validated[1]["action"], validated[1]["domain"], validated[1]["value"], validated[1]["approval_id"]) == (
        "refund_payment", DOMAIN, 250.0, None)


def test_validate_of_an_unknown_tool_gets_the_domain_default_as_evaluate_does(sdk):
    validated = sdk.rules.validate({"action": "wire_money", "value": 5, "actor": ACTOR})
    evaluated = sdk.actions.dry_run(payload={"action": "wire_money", "value": 5, "actor": ACTOR, "domain": DOMAIN})
    assert (validated["result"], validated["reason"]) == ("blocked", evaluated["reason"])
    assert validated["reason"] == ("wire_money is not a tool registered in the dashboard; the default of domain "
                                   "'customer_transactions' is blocked")


def test_validate_says_whether_the_named_rule_took_part(sdk):
    threshold = sdk.rules.validate({"action": "refund_payment", "value": 250, "actor": ACTOR,
                                    "rule_id": "refund_payment-threshold"})
    other = sdk.rules.validate({"action": "refund_payment", "value": 250, "actor": ACTOR, "rule_id": "demo"})
    assert (threshold["result"], threshold["rule_id"], threshold["rule_matched"]) == (
        "requires_approval", "refund_payment-threshold", True)
    assert (other["rule_id"], other["rule_matched"]) == ("demo", False)


def test_validate_refuses_bad_input_naming_the_field(sdk):
    before = _state()
    cases = [
        ({"actor": ACTOR}, ["body", "action"]),
        ({"action": "refund_payment", "value": "lots", "actor": ACTOR}, ["body", "value"]),
        ({"action": "refund_payment", "actor": ACTOR, "rule_id": "no-such-policy"}, ["body", "rule_id"]),
    ]
    for body, loc in cases:
        with pytest.raises(bighub.BighubValidationError) as raised:
            sdk.rules.validate(body)
        assert [e["loc"] for e in raised.value.validation_errors] == [loc]
    with pytest.raises(bighub.BighubAuthError):
        sdk.rules.validate({"action": "refund_payment", "actor": "SOMEONE_ELSE"})
    assert _state() == before


# --- dry_run -----------------------------------------------------------------------------------------------


def test_dry_run_reports_exactly_the_calls_the_rule_changes_and_what_it_cannot_map(sdk, approver_sdk):
    _record(sdk, [("refund_payment", {"order_id": "o1", "amount": 30}),     # allowed: stays allowed
                  ("refund_payment", {"order_id": "o2", "amount": 50}),     # allowed -> requires approval (> 40)
                  ("refund_payment", {"order_id": "o3", "amount": 3000}),   # requires approval -> blocked (> 1000)
                  ("refund_payment", {"order_id": "o4", "amount": 5000}),   # requires approval -> blocked
                  ("refund_payment", {"order_id": "o5", "amount": 20000}),  # blocked: stays blocked
                  ("lookup_order", {"order_id": "o1"}),                     # no value: stays allowed
                  ("delete_customer", {"customer_id": "c1"})])              # blocked: stays blocked
    before = _state()
    answer = approver_sdk.rules.dry_run(bighub.RuleCreateModel(
        name="Refund limits", domain=DOMAIN, max_per_day=100, max_value=1000, require_approval_above=40,
        cooldown_seconds=60))
    assert _state() == before  # nothing saved: no policy, no version, nothing recorded
    assert (answer["dry_run"], answer["days"], answer["total"], answer["changed"], answer["would_change"]) == (
        True, 30, 7, 3, True)
    assert answer["transitions"] == [{"from": "requires_approval", "to": "blocked", "count": 2},
                                     {"from": "allowed", "to": "requires_approval", "count": 1}]
    assert answer["by_tool"] == [{"tool": "refund_payment", "total": 5, "changed": 3},
                                 {"tool": "delete_customer", "total": 1, "changed": 0},
                                 {"tool": "lookup_order", "total": 1, "changed": 0}]
    assert answer["groups_complete"] is True
    assert answer["tools"] == ["delete_customer", "lookup_order", "refund_payment"]
    assert sorted(e["reason"] for e in answer["examples"]) == [
        "refund_payment is blocked: value 3,000.00 is above 1,000 (BIGHUB rule “Refund limits”) "
        "(policy bighub-rule/max_value)",
        "refund_payment is blocked: value 5,000.00 is above 1,000 (BIGHUB rule “Refund limits”) "
        "(policy bighub-rule/max_value)",
        "refund_payment requires approval: value 50.00 is above 40 (BIGHUB rule “Refund limits”) "
        "(policy bighub-rule/require_approval_above)",
    ]
    assert [(f["field"], f["value"], f["tools"]) for f in answer["unsupported_fields"]] == [
        ("max_per_day", 100, None), ("cooldown_seconds", 60, None),
        ("require_approval_above", 40, ["delete_customer", "lookup_order"])]
    assert answer["rule"] == {"name": "Refund limits", "domain": DOMAIN, "max_per_day": 100, "max_value": 1000.0,
                              "require_approval_above": 40.0, "cooldown_seconds": 60}


def test_dry_run_of_a_rule_above_every_recorded_value_changes_nothing(sdk, approver_sdk):
    _record(sdk, [(tool, arguments) for tool, arguments, _ in DEMO_CALLS])
    answer = approver_sdk.rules.dry_run({"name": "loose", "domain": DOMAIN, "max_value": 50_000, "days": 7})
    assert (answer["total"], answer["changed"], answer["transitions"], answer["unsupported_fields"], answer["days"]) \
        == (len(DEMO_CALLS), 0, [], [], 7)


def test_dry_run_replays_only_the_decisions_of_the_rules_domain(sdk, approver_sdk):
    _record(sdk, [("refund_payment", {"order_id": "o1", "amount": 3000})])  # requires approval -> blocked
    for n in range(2):  # another domain's calls, which the key may not see: allowed then, blocked by any set now
        DecisionInput.objects.create(tool="restart_server", actor="OPS_BOT", domain="infrastructure_devops",
                                     value=5000, arguments={}, outcome="allowed", call_id=f"ops_{n}",
                                     source="api", occurred_at=timezone.now() - timedelta(hours=1))
    answer = approver_sdk.rules.dry_run({"name": "cap", "domain": DOMAIN, "max_value": 1000})
    assert (answer["total"], answer["changed"]) == (1, 1)
    assert answer["by_tool"] == [{"tool": "refund_payment", "total": 1, "changed": 1}]
    assert [(g["tool"], g["actor"]) for g in answer["groups"]] == [("refund_payment", ACTOR)]
    assert [(e["tool"], e["actor"]) for e in answer["examples"]] == [("refund_payment", ACTOR)]


def test_dry_run_counts_what_the_rule_changes_not_what_policy_edits_changed_since(sdk, approver_sdk):
    _record(sdk, [("refund_payment", {"order_id": "o1", "amount": 50}),    # allowed when recorded
                  ("refund_payment", {"order_id": "o2", "amount": 250})])  # requires approval
    tool = ToolRegistration.objects.get(name="refund_payment")
    tool.approve_above = Decimal("40")  # the active set now asks approval of the 50 too
    tool.save()
    loose = approver_sdk.rules.dry_run({"name": "loose", "domain": DOMAIN, "max_value": 50_000})
    assert (loose["total"], loose["changed"], loose["transitions"], loose["examples"]) == (2, 0, [], [])
    tight = approver_sdk.rules.dry_run({"name": "tight", "domain": DOMAIN, "max_value": 100})
    assert (tight["changed"], tight["transitions"]) == (1, [{"from": "requires_approval", "to": "blocked", "count": 1}])
    assert [(e["from"], e["to"]) for e in tight["examples"]] == [("requires_approval", "blocked")]


def test_dry_run_over_more_decisions_than_the_limit_is_refused_naming_the_count(sdk, settings):
    _record(sdk, [(tool, arguments) for tool, arguments, _ in DEMO_CALLS])
    approver = make_agent_key("ops-bot", role="approver", user=make_user("alice", reviewer=True))[0]
    payload = RuleDryRunIn(name="r", domain=DOMAIN, max_value=10, days=30)
    settings.GOVERNANCE_API_DRY_RUN_MAX_DECISIONS = len(DEMO_CALLS) - 1
    with pytest.raises(rules.RuleRejected) as refused:
        rules.dry_run(key=approver, payload=payload)
    assert refused.value.field == "days"
    assert str(refused.value) == (f"{len(DEMO_CALLS)} decisions were recorded in domain '{DOMAIN}' in the last 30 "
                                  f"days, more than the {len(DEMO_CALLS) - 1} a dry run replays: send a smaller days")
    settings.GOVERNANCE_API_DRY_RUN_MAX_DECISIONS = len(DEMO_CALLS)
    assert rules.dry_run(key=approver, payload=payload)["total"] == len(DEMO_CALLS)


def test_dry_run_refuses_agent_keys_other_domains_and_bad_rules(api_server, sdk, approver_sdk):
    operator = client_for(api_server, make_agent_key("op-bot", role="approver", user=make_user("olivia"))[1])
    before = _state()
    for client in (sdk, operator):  # an agent key; an approver key whose user sees only their own runs
        with pytest.raises(bighub.BighubAuthError) as refused:
            client.rules.dry_run({"name": "r", "domain": DOMAIN, "max_value": 10})
        assert str(refused.value) == ("replaying recorded decisions shows every actor's calls in the domain: it "
                                      "takes an approver key whose user sees every run")
    operator.close()
    with pytest.raises(bighub.BighubAuthError) as refused:
        approver_sdk.rules.dry_run({"name": "r", "domain": "infrastructure_devops", "max_value": 10})
    assert str(refused.value) == ("this API key may not act in domain 'infrastructure_devops' "
                                  "(its domains: customer_transactions)")
    cases = [
        ({"name": "r", "max_value": 10}, ["body", "domain"]),
        ({"name": "r", "domain": DOMAIN, "max_value": "ten"}, ["body", "max_value"]),
        ({"name": "r", "domain": DOMAIN, "max_value": 10, "days": 91}, ["body", "days"]),
        ({"name": "r", "domain": DOMAIN, "max_per_day": 5}, ["body", "max_value"]),  # limits nothing mappable
        ({"name": "r", "domain": DOMAIN, "max_value": 10, "allowed_hours_start": 25}, ["body", "allowed_hours_start"]),
    ]
    for body, loc in cases:
        with pytest.raises(bighub.BighubValidationError) as raised:
            approver_sdk.rules.dry_run(body)
        assert [e["loc"] for e in raised.value.validation_errors] == [loc]
    assert _state() == before


def test_the_openapi_document_describes_the_rules_bodies(api_server):
    document = httpx.get(f"{api_server['url']}/bighub/openapi.json").json()
    bodies = {path: document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
              for path in ("/bighub/rules/validate", "/bighub/rules/validate/dry-run", "/bighub/rules/dry-run")}
    assert bodies == {"/bighub/rules/validate": {"$ref": "#/components/schemas/RuleValidateIn"},
                      "/bighub/rules/validate/dry-run": {"$ref": "#/components/schemas/RuleValidateIn"},
                      "/bighub/rules/dry-run": {"$ref": "#/components/schemas/RuleDryRunIn"}}
    schemas = document["components"]["schemas"]
    assert sorted(schemas["RuleValidateIn"]["properties"]) == sorted(
        ["action", "value", "actor", "domain", "rule_id", "metadata", "dry_run"])
    assert sorted(schemas["RuleDryRunIn"]["properties"]) == sorted(
        ["name", "domain", "max_value", "require_approval_above", "min_value", "max_per_day", "max_per_hour",
         "cooldown_seconds", "allowed_hours_start", "allowed_hours_end", "tags", "metadata", "days"])
