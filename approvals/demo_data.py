"""The demo data set: users with roles, the demo tools and policies with their examples, preset deny reasons.

Used by `manage.py seed_demo` (the one-command start). Idempotent: running it again leaves the same
rows and resets the demo passwords. It lives in `approvals`, the highest app whose rows it seeds: the
tools and policies belong to `governance` below it, which must not import approvals' deny reasons.
"""

from __future__ import annotations

import os
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.db import transaction

from governance import versions
from governance.models import DomainDefault, Policy, PolicyExample, ToolRegistration
from governance.policy.sources import DEMO_CEDAR

from .models import DenyReason

DEMO_TOOLS = [
    {"name": "refund_payment", "callable_path": "governance.demo_tools.refund_payment", "value_argument": "amount",
     "target_argument": "order_id", "approve_above": Decimal("100"), "block_above": Decimal("10000")},
    {"name": "lookup_order", "callable_path": "governance.demo_tools.lookup_order", "target_argument": "order_id"},
    {"name": "delete_customer", "callable_path": "governance.demo_tools.delete_customer",
     "target_argument": "customer_id"},
]
# Calls the demo policy set must decide as it does (governance/policy_examples.py): saving a policy, tool or
# domain default that changes one of these outcomes is refused in the admin.
DEMO_EXAMPLES = [
    {"name": "small refund runs", "tool": "refund_payment", "arguments": {"order_id": "ord_123", "amount": 40},
     "expected": "allowed", "description": "Refunds up to 100 need nobody."},
    {"name": "refund above 100 asks a reviewer", "tool": "refund_payment",
     "arguments": {"order_id": "ord_777", "amount": 250}, "expected": "requires_approval",
     "description": "approve_above on refund_payment."},
    {"name": "refund above 10,000 is blocked", "tool": "refund_payment",
     "arguments": {"order_id": "ord_999", "amount": 25000}, "expected": "blocked",
     "description": "block_above on refund_payment."},
    {"name": "lookups are allowed", "tool": "lookup_order", "arguments": {"order_id": "ord_100"},
     "expected": "allowed", "description": "Policy demo, statement “lookups”."},
    {"name": "agents never delete customers", "tool": "delete_customer", "arguments": {"customer_id": "cus_42"},
     "expected": "blocked", "description": "Policy demo, statement “no-deletes”."},
]
DENY_REASONS = ["Amount looks wrong", "Customer not eligible", "Needs a second opinion"]


def demo_passwords() -> dict[str, str]:
    return {
        "admin": os.environ.get("DEMO_ADMIN_PASSWORD", "admin-demo"),
        "reviewer": os.environ.get("DEMO_REVIEWER_PASSWORD", "reviewer-demo"),
        "operator": os.environ.get("DEMO_OPERATOR_PASSWORD", "operator-demo"),
    }


def reviewers_group() -> Group:
    group, _ = Group.objects.get_or_create(name=settings.REVIEWERS_GROUP)
    group.permissions.add(
        Permission.objects.get(codename="resolve_approvalrequest"),
        Permission.objects.get(codename="view_approvalrequest"),
        Permission.objects.get(codename="view_run"),
        Permission.objects.get(codename="view_auditrecord"),
        Permission.objects.get(codename="pause_decisions"),
    )
    return group


@transaction.atomic
def seed_demo() -> dict[str, str]:
    """Create or refresh the demo rows; returns the demo credentials."""
    passwords = demo_passwords()
    # Addresses at example.com (reserved, never delivered): the embedded profile prints notification emails
    # to the worker's console, so the demo shows whom each one goes to.
    admin, _ = User.objects.get_or_create(username="admin", defaults={"is_staff": True, "is_superuser": True,
                                                                      "email": "admin@example.com"})
    reviewer, _ = User.objects.get_or_create(username="reviewer", defaults={"email": "reviewer@example.com"})
    operator, _ = User.objects.get_or_create(username="operator", defaults={"email": "operator@example.com"})
    for user in (admin, reviewer, operator):
        if not user.check_password(passwords[user.username]):  # unchanged: no new hash, no audit record
            user.set_password(passwords[user.username])
            user.save()
    reviewer.groups.add(reviewers_group())
    # One policy set version for the whole demo set (none when a re-run changes nothing).
    with versions.changing(by=None, comment="seed_demo: the demo tools, policy and domain default"):
        for spec in DEMO_TOOLS:
            _save_validated(ToolRegistration, spec)
        Policy.objects.update_or_create(name="demo", defaults={"cedar": DEMO_CEDAR, "enabled": True,
                                                               "description": "Lookups allowed, deletes forbidden."})
        DomainDefault.objects.update_or_create(domain="customer_transactions", defaults={"outcome": "blocked"})
    for spec in DEMO_EXAMPLES:
        _save_validated(PolicyExample, spec)
    for position, text in enumerate(DENY_REASONS):
        DenyReason.objects.update_or_create(text=text, defaults={"position": position, "active": True})
    return passwords


def _save_validated(model, spec: dict) -> None:
    """Create or update the row named `spec["name"]` with `spec`, validated as the admin validates it."""
    row = model.objects.filter(name=spec["name"]).first() or model(name=spec["name"])
    for key, value in spec.items():
        setattr(row, key, value)
    row.full_clean()
    row.save()
