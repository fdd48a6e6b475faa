"""The embedded Cedar engine's decision rules, reasons and policy validation."""

from __future__ import annotations

import pytest

from governance.decisions import ActionRequest
from governance.policy import EmbeddedPolicyEngine, PolicyError, PolicySource, ToolThreshold, validate_policy_text


def act(tool="refund_payment", value=None, domain="payments", **arguments) -> ActionRequest:
    return ActionRequest(tool=tool, arguments=arguments, actor="AI_AGENT", domain=domain, value=value)


def test_forbid_beats_permit():
    engine = EmbeddedPolicyEngine([PolicySource("p", """
        permit(principal, action, resource);
        @id("never-refund") forbid(principal, action == Action::"refund_payment", resource);
    """)])
    decision = engine.evaluate(act())
    assert (decision.outcome, decision.policy_ids) == ("blocked", ("p/never-refund",))


def test_approval_permit_beats_plain_permit():
    engine = EmbeddedPolicyEngine([PolicySource("p", """
        @id("all") permit(principal, action, resource);
        @id("refunds") @approval("required") @reason("refunds need a human")
        permit(principal, action == Action::"refund_payment", resource);
    """)])
    decision = engine.evaluate(act())
    assert decision.outcome == "requires_approval"
    assert decision.policy_ids == ("p/refunds",)
    assert decision.reason == "refund_payment requires approval: refunds need a human (policy p/refunds)"


def test_no_match_uses_domain_default():
    engine = EmbeddedPolicyEngine([], domain_defaults={"sandbox": "allowed", "payments": "requires_approval"})
    assert engine.evaluate(act(domain="sandbox")).outcome == "allowed"
    assert engine.evaluate(act(domain="payments")).outcome == "requires_approval"
    other = engine.evaluate(act(domain="elsewhere"))
    assert other.outcome == "blocked"
    assert other.reason == "no policy matches refund_payment in domain 'elsewhere'; the domain default is blocked"


def test_threshold_boundaries_exact_in_cents():
    engine = EmbeddedPolicyEngine([ToolThreshold("refund_payment", approve_above=100, block_above=10_000)])
    outcomes = [engine.evaluate(act(value=v)).outcome for v in (100, 100.01, 10_000, 10_000.01)]
    assert outcomes == ["allowed", "requires_approval", "requires_approval", "blocked"]


def test_threshold_without_value_asks_a_reviewer():
    engine = EmbeddedPolicyEngine([ToolThreshold("refund_payment", approve_above=100)])
    assert engine.evaluate(act(value=None)).outcome == "requires_approval"


def test_policy_can_read_arguments_and_target():
    engine = EmbeddedPolicyEngine([PolicySource("p", """
        @id("eu-only") permit(principal, action, resource) when { context.arguments.region == "eu" };
    """)])
    assert engine.evaluate(act(region="eu", amount=5.5)).outcome == "allowed"
    assert engine.evaluate(act(region="us")).outcome == "blocked"


def test_each_decision_has_its_own_request_id():
    engine = EmbeddedPolicyEngine([ToolThreshold("refund_payment")])
    first, second = engine.evaluate(act()), engine.evaluate(act())
    assert first.request_id != second.request_id
    assert first.request_id.startswith("dec_")


def test_invalid_policy_refused_with_line():
    with pytest.raises(PolicyError) as caught:
        EmbeddedPolicyEngine([PolicySource("refunds", "permit(principal, action, resource);\n\n"
                                                      "forbid(principal, action == , resource);")])
    assert str(caught.value).startswith("policy 'refunds', line 3: ")


def test_validate_policy_text_names_unknown_action():
    problems = validate_policy_text('permit(principal, action == Action::"refnd", resource);', tools=["refund_payment"])
    assert [p.line for p in problems] == [1, 1]
    assert 'unrecognized action `Action::"refnd"`' in [p.message for p in problems]


def test_validate_policy_text_missing_semicolon():
    (problem,) = validate_policy_text("permit(principal, action, resource)")
    assert str(problem) == "line 1: the policy does not end with ;"


def test_validate_policy_text_comments_and_strings_do_not_split():
    text = '// a comment; with a semicolon\npermit(principal, action, resource) when { context.target == "a;b" };'
    assert validate_policy_text(text) == []


def test_unknown_domain_default_refused():
    with pytest.raises(ValueError, match="a domain default must be one of"):
        EmbeddedPolicyEngine([], domain_defaults={"x": "maybe"})
