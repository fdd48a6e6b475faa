"""The embedded policy engine: Cedar policies and value thresholds, decided in-process.

    from governance.policy import EmbeddedPolicyEngine, PolicySource, ToolThreshold, demo_policies

    engine = EmbeddedPolicyEngine(demo_policies())
    engine.evaluate(ActionRequest(tool="refund_payment", arguments={...}, actor="AI_AGENT_001",
                                  domain="customer_transactions", value=150.0))
    # Decision(outcome="requires_approval",
    #          reason="refund_payment requires approval: value 150.00 is above 100 "
    #                 "(policy refund_payment-threshold)", ...)

See `engine.py` for the decision rules, `sources.py` for how money is encoded (whole cents in
`context.value_cents`), `text.py` for checking policy text, and docs/policies.md for writing policies.
"""

from .engine import AsyncEmbeddedPolicyEngine, EmbeddedPolicyEngine, cedar_arguments
from .sources import DEMO_DOMAIN, PolicySource, ToolThreshold, demo_policies, to_cents
from .text import PolicyError, PolicyProblem, format_policy_text, product_schema, validate_policy_text

__all__ = [
    "DEMO_DOMAIN",
    "AsyncEmbeddedPolicyEngine",
    "EmbeddedPolicyEngine",
    "PolicyError",
    "PolicyProblem",
    "PolicySource",
    "ToolThreshold",
    "cedar_arguments",
    "demo_policies",
    "format_policy_text",
    "product_schema",
    "to_cents",
    "validate_policy_text",
]
