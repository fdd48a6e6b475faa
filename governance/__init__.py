"""Governance: tools, policies, decisions, the guarded runner and its decision backends.

The runner (`governance.guard`) and the backends import no Django models, so they work as a
plain library; the Django models that persist tools and policies live in `governance.models`.
"""
