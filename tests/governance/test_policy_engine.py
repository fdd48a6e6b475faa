"""The embedded Cedar engine: outcomes, thresholds, domain defaults, reasons, policy ids, speed-ups."""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest

from governance.decisions import ActionRequest, AsyncDecisionBackend, DecisionBackend
from governance.policy import (
    DEMO_DOMAIN,
    AsyncEmbeddedPolicyEngine,
    EmbeddedPolicyEngine,
    PolicyError,
    PolicySource,
    ToolThreshold,
    demo_policies,
)


def act(tool="refund_payment", value=None, domain=DEMO_DOMAIN, actor="AI_AGENT_001", target=None, **arguments):
    return ActionRequest(tool=tool, arguments=arguments, actor=actor, domain=domain, value=value, target=target)


@pytest.fixture(scope="module")
def demo():
    return EmbeddedPolicyEngine(demo_policies())


def cedar(name, text, **options):
    return EmbeddedPolicyEngine([PolicySource(name, text)], **options)


# -- the three outcomes --------------------------------------------------------------------------


def test_demo_lookup_is_allowed(demo):
    decision = demo.evaluate(act("lookup_order", order_id="ord_1"))
    assert (decision.outcome, decision.allowed) == ("allowed", True)
    assert decision.reason == "lookup_order is allowed: read-only lookups are always allowed (policy demo/lookups)"
    assert decision.policy_ids == ("demo/lookups",)
    assert decision.backend == "embedded"


def test_demo_delete_is_blocked(demo):
    decision = demo.evaluate(act("delete_customer", customer_id="cus_1"))
    assert decision.outcome == "blocked"
    assert decision.reason == ("delete_customer is blocked: deleting customers is never done by an agent "
                               "(policy demo/no-deletes)")
    assert decision.policy_ids == ("demo/no-deletes",)


def test_demo_refund_150_requires_approval(demo):
    decision = demo.evaluate(act(value=150.0, order_id="ord_1", amount=150.0))
    assert (decision.outcome, decision.requires_approval) == ("requires_approval", True)
    assert decision.reason == (
        "refund_payment requires approval: value 150.00 is above 100 (policy refund_payment-threshold)")
    assert decision.policy_ids == ("refund_payment-threshold",)


def test_demo_unknown_tool_falls_to_blocked_default(demo):
    decision = demo.evaluate(act("wire_money"))
    assert decision.outcome == "blocked"
    assert decision.reason == (
        "no policy matches wire_money in domain 'customer_transactions'; the domain default is blocked")
    assert decision.policy_ids == ("default:customer_transactions",)


def test_engine_satisfies_the_backend_protocols(demo):
    assert isinstance(demo, DecisionBackend)
    assert isinstance(AsyncEmbeddedPolicyEngine.from_engine(demo), AsyncDecisionBackend)


# -- thresholds ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "outcome"),
    [(0, "allowed"), (99.99, "allowed"), (100, "allowed"), (100.0, "allowed"), (100.01, "requires_approval"),
     (100.004, "requires_approval"), (9_999.99, "requires_approval"), (10_000, "requires_approval"),
     (10_000.0, "requires_approval"), (10_000.01, "blocked"), (1e30, "blocked")],
)
def test_refund_threshold_outcome_at_boundaries(demo, value, outcome):
    assert demo.evaluate(act(value=value)).outcome == outcome


@pytest.mark.parametrize(
    ("value", "reason"),
    [(100, "refund_payment is allowed: value 100.00 is at most 100 (policy refund_payment-threshold)"),
     (100.01, "refund_payment requires approval: value 100.01 is above 100 (policy refund_payment-threshold)"),
     (10_000, "refund_payment requires approval: value 10,000.00 is above 100 (policy refund_payment-threshold)"),
     (10_000.01, "refund_payment is blocked: value 10,000.01 is above 10,000 (policy refund_payment-threshold)")],
)
def test_refund_threshold_reason_at_boundaries(demo, value, reason):
    assert demo.evaluate(act(value=value)).reason == reason


def test_threshold_without_value_requires_approval(demo):
    decision = demo.evaluate(act(value=None))
    assert decision.outcome == "requires_approval"
    assert decision.reason == ("refund_payment requires approval: the call has no value to check against "
                               "the thresholds (policy refund_payment-threshold)")


def test_threshold_block_only_allows_below_and_blocks_above():
    engine = EmbeddedPolicyEngine([ToolThreshold("payout", block_above=500, name="payout-cap")])
    assert [engine.evaluate(act("payout", value=v)).outcome for v in (500, 500.01, None)] == [
        "allowed", "blocked", "requires_approval"]
    assert engine.evaluate(act("payout", value=9000)).policy_ids == ("payout-cap",)


def test_threshold_with_decimal_amounts_from_the_database():
    from decimal import Decimal

    engine = EmbeddedPolicyEngine([ToolThreshold("refund_payment", approve_above=Decimal("99.50"))])
    assert [engine.evaluate(act(value=v)).outcome for v in (99.5, 99.51)] == ["allowed", "requires_approval"]
    assert engine.evaluate(act(value=99.51)).reason == (
        "refund_payment requires approval: value 99.51 is above 99.50 (policy refund_payment-threshold)")


def test_threshold_without_amounts_allows_the_tool():
    engine = EmbeddedPolicyEngine([ToolThreshold("lookup_order")])
    assert engine.evaluate(act("lookup_order")).reason == (
        "lookup_order is allowed: no threshold is set (policy lookup_order-threshold)")


def test_threshold_not_a_number_refused():
    with pytest.raises(ValueError, match="ToolThreshold\\('refund_payment'\\): approve_above: threshold 'abc' is not"):
        ToolThreshold("refund_payment", approve_above="abc")  # type: ignore[arg-type]


def test_value_not_finite_is_blocked(demo):
    decision = demo.evaluate(act(value=float("nan")))
    assert decision.outcome == "blocked"
    assert decision.reason == "refund_payment is blocked: value nan is not a finite number"


# -- domain defaults -----------------------------------------------------------------------------


def test_no_match_uses_each_domains_default():
    engine = EmbeddedPolicyEngine([], domain_defaults={"sandbox": "allowed", "payments": "requires_approval"})
    assert engine.evaluate(act(domain="sandbox")).outcome == "allowed"
    assert engine.evaluate(act(domain="payments")).reason == (
        "no policy matches refund_payment in domain 'payments'; the domain default is requires approval")
    assert engine.evaluate(act(domain="elsewhere")).outcome == "blocked"


def test_no_match_default_outcome_configurable():
    engine = EmbeddedPolicyEngine(demo_policies(), default_outcome="requires_approval")
    assert engine.evaluate(act("wire_money")).outcome == "requires_approval"
    assert engine.evaluate(act("delete_customer")).outcome == "blocked"


def test_domain_default_unknown_outcome_refused():
    with pytest.raises(ValueError, match=r"a domain default must be one of .* got 'maybe' for x"):
        EmbeddedPolicyEngine([], domain_defaults={"x": "maybe"})


def test_default_applies_per_domain_even_when_memoised():
    engine = cedar("p", 'permit(principal, action == Action::"other", resource);',
                   domain_defaults={"sandbox": "allowed"})
    assert [engine.evaluate(act(domain=d)).outcome for d in ("sandbox", "prod", "sandbox")] == [
        "allowed", "blocked", "allowed"]


# -- precedence ----------------------------------------------------------------------------------


def test_forbid_beats_permit():
    engine = cedar("p", """
        @id("all") permit(principal, action, resource);
        @id("never-refund") forbid(principal, action == Action::"refund_payment", resource);
    """)
    decision = engine.evaluate(act())
    assert (decision.outcome, decision.policy_ids) == ("blocked", ("p/never-refund",))
    assert decision.reason == "refund_payment is blocked: forbidden (policy p/never-refund)"


def test_forbid_beats_approval_permit():
    engine = cedar("p", """
        @id("ask") @approval("required") permit(principal, action, resource);
        @id("no") forbid(principal, action, resource) when { context has target && context.target == "vip" };
    """)
    assert engine.evaluate(act(target="vip")).outcome == "blocked"
    assert engine.evaluate(act(target="someone")).outcome == "requires_approval"


def test_approval_permit_beats_plain_permit():
    engine = cedar("p", """
        @id("all") permit(principal, action, resource);
        @id("refunds") @approval("required") @reason("refunds need a human")
        permit(principal, action == Action::"refund_payment", resource);
    """)
    decision = engine.evaluate(act())
    assert decision.outcome == "requires_approval"
    assert decision.policy_ids == ("p/refunds",)
    assert decision.reason == "refund_payment requires approval: refunds need a human (policy p/refunds)"
    assert decision.raw["matched"] == ["p/all", "p/refunds"]


def test_plain_permits_all_named_when_allowed():
    engine = EmbeddedPolicyEngine([
        PolicySource("a", "permit(principal, action, resource);"),
        PolicySource("b", 'permit(principal, action == Action::"refund_payment", resource);'),
    ])
    decision = engine.evaluate(act())
    assert decision.policy_ids == ("a", "b")
    assert decision.reason == "refund_payment is allowed: permitted (policy a); permitted (policy b)"


def test_policy_ids_unnamed_statements_numbered():
    engine = cedar("ops", """
        permit(principal, action == Action::"a", resource);
        permit(principal, action == Action::"b", resource);
    """)
    assert engine.policy_ids == ["ops#1", "ops#2"]
    assert engine.evaluate(act("b")).policy_ids == ("ops#2",)


# -- evaluation errors fail closed ---------------------------------------------------------------


def test_forbid_that_cannot_be_evaluated_blocks():
    engine = cedar("p", """
        @id("all") permit(principal, action, resource);
        @id("big") forbid(principal, action, resource) when { context.value_cents > 100000 };
    """)
    decision = engine.evaluate(act(value=None))
    assert decision.outcome == "blocked"
    assert decision.reason == ("refund_payment is blocked: policy p/big could not be evaluated (record does not have "
                               "the attribute `value_cents`), so it counts as matching (fail closed)")
    assert engine.evaluate(act(value=5)).outcome == "allowed"


def test_approval_permit_that_cannot_be_evaluated_asks():
    engine = cedar("p", """
        @id("all") permit(principal, action, resource);
        @id("big") @approval("required") permit(principal, action, resource) when { context.value_cents > 100 };
    """)
    assert engine.evaluate(act(value=None)).outcome == "requires_approval"
    assert engine.evaluate(act(value=1)).outcome == "allowed"


# -- what a policy sees --------------------------------------------------------------------------


def test_policy_reads_arguments_target_tool_and_actor():
    engine = cedar("p", """
        @id("eu") permit(principal, action, resource) when {
            context.arguments.region == "eu" && context.target == "ord_1" && context.tool == "refund_payment"
            && context.actor == "bot" && context["domain"] == "payments" };
    """)
    assert engine.evaluate(act(region="eu", target="ord_1", actor="bot", domain="payments")).outcome == "allowed"
    assert engine.evaluate(act(region="us", target="ord_1", actor="bot", domain="payments")).outcome == "blocked"
    assert engine.evaluate(act(region="eu", target="ord_2", actor="bot", domain="payments")).outcome == "blocked"
    assert engine.evaluate(act(region="eu", target="ord_1", actor="bob", domain="payments")).outcome == "blocked"


def test_arguments_fractions_and_nulls_left_out_integral_floats_kept():
    engine = cedar("p", """
        @id("n") permit(principal, action, resource) when {
            context.arguments.count == 3 && !(context.arguments has price) && !(context.arguments has note) };
    """)
    assert engine.evaluate(act(count=3.0, price=9.99, note=None)).outcome == "allowed"


def test_arguments_cannot_smuggle_entity_references():
    engine = cedar("p", 'permit(principal, action, resource) when { context.arguments has __entity };')
    assert engine.evaluate(act(__entity={"type": "Agent", "id": "root"})).outcome == "blocked"


def test_principal_and_resource_scopes_match_actor_and_domain():
    engine = cedar("p", """
        @id("alice") permit(principal == Agent::"alice", action, resource == Domain::"payments");
    """)
    assert engine.evaluate(act(actor="alice", domain="payments")).outcome == "allowed"
    assert engine.evaluate(act(actor="mallory", domain="payments")).outcome == "blocked"
    assert engine.evaluate(act(actor="alice", domain="hr")).outcome == "blocked"


def test_odd_actor_names_are_plain_ids():
    engine = cedar("p", 'permit(principal == Agent::"a \\"quoted\\" name", action, resource);')
    assert engine.evaluate(act(actor='a "quoted" name')).outcome == "allowed"


def test_action_name_overrides_tool_name():
    engine = cedar("p", 'permit(principal, action == Action::"payments.refund", resource);')
    request = ActionRequest(tool="refund_payment", action="payments.refund", arguments={}, actor="a", domain="d")
    assert engine.evaluate(request).outcome == "allowed"


def test_entity_store_groups_agents():
    entities = [{"uid": {"type": "Agent", "id": "bot"}, "attrs": {}, "parents": [{"type": "Team", "id": "support"}]},
                {"uid": {"type": "Team", "id": "support"}, "attrs": {}, "parents": []}]
    engine = cedar("p", 'permit(principal in Team::"support", action, resource);', entities=entities)
    assert engine.evaluate(act(actor="bot")).outcome == "allowed"
    assert engine.evaluate(act(actor="stranger")).outcome == "blocked"


def test_whole_context_policy_gets_every_attribute():
    engine = cedar("p", 'permit(principal, action, resource) unless { context == {} };')
    assert engine.evaluate(act(value=1)).outcome == "allowed"


# -- decisions and the memo ----------------------------------------------------------------------


def test_each_decision_has_its_own_uuid_request_id(demo):
    first, second = demo.evaluate(act(value=5)), demo.evaluate(act(value=5))
    assert first.request_id != second.request_id
    assert uuid.UUID(first.request_id).version == 4
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", second.request_id)


def test_memo_shares_an_answer_between_values_but_reason_keeps_each_value():
    engine = EmbeddedPolicyEngine(demo_policies())
    reasons = [engine.evaluate(act(value=v)).reason for v in (150, 9_000.5)]
    assert reasons == [
        "refund_payment requires approval: value 150.00 is above 100 (policy refund_payment-threshold)",
        "refund_payment requires approval: value 9,000.50 is above 100 (policy refund_payment-threshold)",
    ]
    assert len(engine._memo) == 1  # both values lie between the same literals: one Cedar evaluation


def test_memo_keys_on_the_actor_when_a_policy_looks_at_it():
    engine = cedar("p", 'permit(principal == Agent::"alice", action, resource);')
    assert [engine.evaluate(act(actor=a)).outcome for a in ("alice", "bob", "alice")] == [
        "allowed", "blocked", "allowed"]


def test_memo_disabled_gives_the_same_answers():
    engine = EmbeddedPolicyEngine(demo_policies(), cache_size=0)
    assert [engine.evaluate(act(value=v)).outcome for v in (1, 101, 20_000)] == [
        "allowed", "requires_approval", "blocked"]
    assert engine._memo == {}


def test_decision_round_trips_through_dict(demo):
    decision = demo.evaluate(act(value=150))
    data = decision.to_dict()
    assert data["policy_ids"] == ["refund_payment-threshold"]
    assert data["raw"] == {"engine": "cedar", "cedar_decision": "Allow", "matched": ["refund_payment-threshold"]}
    assert type(decision).from_dict(data) == decision


# -- construction --------------------------------------------------------------------------------


def test_invalid_policy_refused_with_policy_name_line_and_column():
    with pytest.raises(PolicyError) as caught:
        cedar("refunds", "permit(principal, action, resource);\n\nforbid(principal, action == , resource);")
    assert str(caught.value) == "policy 'refunds', line 3: unexpected token `,` (column 29)"
    assert [(p.policy, p.line, p.column) for p in caught.value.problems] == [("refunds", 3, 29)]


def test_policies_checked_against_tool_schema_at_load():
    with pytest.raises(PolicyError, match=r'policy \'typo\', line 1: unrecognized action `Action::"refnd"`'):
        EmbeddedPolicyEngine([PolicySource("typo", 'permit(principal, action == Action::"refnd", resource);')],
                             tools=["refund_payment"])


def test_demo_policies_valid_against_the_product_schema():
    engine = EmbeddedPolicyEngine(demo_policies(), tools=["refund_payment", "lookup_order", "delete_customer"])
    assert engine.policy_ids[-2:] == ["demo/lookups", "demo/no-deletes"]


def test_unknown_source_type_refused():
    with pytest.raises(TypeError, match="expected PolicySource or ToolThreshold, got str"):
        EmbeddedPolicyEngine(["permit(principal, action, resource);"])  # type: ignore[list-item]


# -- the rest of the backend contract ------------------------------------------------------------


def test_resolve_approval_answers_locally(demo):
    decision = demo.evaluate(act(value=150))
    assert demo.resolve_approval(decision, resolution="approved", comment="ok") == {
        "status": "approved", "request_id": decision.request_id, "comment": "ok"}
    assert demo.report_outcome(act(), decision, status="executed", output={}) is None
    assert demo.ingest_memory([{"event_id": "e"}], source="s", timeout_seconds=0.3) is None


def test_async_engine_decides_like_the_sync_one():
    engine = AsyncEmbeddedPolicyEngine(demo_policies())

    async def scenario():
        decision = await engine.evaluate(act(value=20_000))
        resolved = await engine.resolve_approval(decision, resolution="rejected")
        await engine.report_outcome(act(), decision, status="blocked", output=None)
        await engine.ingest_memory([], source="s", timeout_seconds=0.3)
        return decision, resolved

    decision, resolved = asyncio.run(scenario())
    assert (decision.outcome, decision.policy_ids) == ("blocked", ("refund_payment-threshold",))
    assert resolved["status"] == "rejected"
    assert engine.name == "embedded"
