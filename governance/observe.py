"""Observe-only domains: decisions there are computed and recorded, and the calls proceed anyway.

An admin sets `DomainDefault.observe_only` (refused, by the model's validation, unless the setting
GOVERNANCE_ALLOW_OBSERVE_ONLY is on: off by default in the production profile, on in the embedded one;
with the setting off, a domain left observe-only is ignored here and shown nowhere). `let_through` is
applied by the kill switch's gate (governance/pauses.py), the one door of every backend decision: a
`blocked` or `requires_approval` decision in such a domain becomes `allowed`, keeping what it would have
been in `observed_outcome` and its reason ("... (observe only: would have been blocked)"), so run events,
audit records and the agents' API activity record it. A pause is not a policy decision: it still blocks.

`observed_domains()` (one query) and `in_observed_domain(...)` (a subquery for an annotation) are what
the pages showing a domain's runs, approvals and audit records use to mark them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.conf import settings
from django.db.models import Exists, QuerySet

from .decisions import ActionRequest, Decision
from .models import DomainDefault

_WORDS = {"blocked": "been blocked", "requires_approval": "required approval"}


def allowed() -> bool:
    """Whether observe-only domains may exist here (the setting GOVERNANCE_ALLOW_OBSERVE_ONLY)."""
    return bool(settings.GOVERNANCE_ALLOW_OBSERVE_ONLY)


def observe_only_defaults() -> QuerySet:
    """The domain defaults in effect as observe only (none when the setting refuses them)."""
    if not allowed():
        return DomainDefault.objects.none()
    return DomainDefault.objects.filter(observe_only=True)


def observed_domains() -> frozenset[str]:
    """The names of the observe-only domains in effect: one query (none when the setting refuses them)."""
    if not allowed():
        return frozenset()
    return frozenset(observe_only_defaults().values_list("domain", flat=True))


def in_observed_domain(domain: Any) -> Exists:
    """An expression for `.annotate(...)`: whether `domain` (an OuterRef or expression) is observe only."""
    return Exists(observe_only_defaults().filter(domain=domain))


def let_through(action: ActionRequest, decision: Decision) -> Decision:
    """`decision`, or, when it is not `allowed` and the call's domain is observe only, `allowed` saying
    what it would have been. Reads the database only for a decision that is not `allowed`."""
    if decision.allowed or decision.observed_outcome is not None or not allowed():
        return decision
    if not DomainDefault.objects.filter(domain=action.domain, observe_only=True).exists():
        return decision
    return dataclasses.replace(
        decision, outcome="allowed", observed_outcome=decision.outcome,
        reason=f"{decision.reason} (observe only: would have {_WORDS[decision.outcome]})",
    )
