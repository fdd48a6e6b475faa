"""Small factories for tests: users with roles, and the demo tools registered as an admin would."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group, Permission, User

from governance.models import DomainDefault, Policy, ToolRegistration

DEMO_CEDAR = """
permit(principal, action == Action::"lookup_order", resource);
forbid(principal, action == Action::"delete_customer", resource);
"""


def make_user(username: str, *, reviewer: bool = False, staff: bool = False) -> User:
    user = User.objects.create_user(username=username, password="pw-" + username, is_staff=staff)
    if reviewer:
        group, _ = Group.objects.get_or_create(name=settings.REVIEWERS_GROUP)
        group.permissions.add(
            Permission.objects.get(codename="resolve_approvalrequest"),
            Permission.objects.get(codename="view_auditrecord"),
        )
        user.groups.add(group)
    return user


def register_demo_tools() -> None:
    """The demo set: refund needs approval above 100 and is blocked above 10,000; lookup allowed; delete blocked."""
    ToolRegistration.objects.create(
        name="refund_payment", callable_path="governance.demo_tools.refund_payment", value_argument="amount",
        target_argument="order_id", approve_above=Decimal("100"), block_above=Decimal("10000"),
    )
    ToolRegistration.objects.create(name="lookup_order", callable_path="governance.demo_tools.lookup_order")
    ToolRegistration.objects.create(name="delete_customer", callable_path="governance.demo_tools.delete_customer")
    for tool in ToolRegistration.objects.all():
        tool.full_clean()
        tool.save()
    Policy.objects.create(name="demo", cedar=DEMO_CEDAR)
    DomainDefault.objects.create(domain="customer_transactions", outcome="blocked")


def start_run_now(user, prompt: str, tools=("refund_payment", "lookup_order", "delete_customer")):
    """Start a run and drive it in this process until it pauses or ends; returns it refreshed."""
    from runs import commands, worker

    run = commands.start_run(user=user, prompt=prompt, model="gpt-4.1", tool_names=list(tools))
    worker.execute_run(run_id=run.pk)
    run.refresh_from_db()
    return run
