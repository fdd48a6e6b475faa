"""The embedded policy engine: Cedar policies and value thresholds, decided in-process.

    from governance.policy import EmbeddedPolicyEngine, PolicySource, ToolThreshold, demo_policies

See `engine.py` for the decision rules and docs/policies.md for writing policies.
"""

from .engine import AsyncEmbeddedPolicyEngine, EmbeddedPolicyEngine
from .sources import PolicySource, ToolThreshold, demo_policies
from .text import PolicyError, PolicyProblem, validate_policy_text

__all__ = [
    "AsyncEmbeddedPolicyEngine",
    "EmbeddedPolicyEngine",
    "PolicyError",
    "PolicyProblem",
    "PolicySource",
    "ToolThreshold",
    "demo_policies",
    "validate_policy_text",
]
