"""Small factories for tests: users with roles, and the demo tools registered as an admin would."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group, Permission, User

from approvals.models import ApprovalRequest
from approvals.services import arguments_digest
from governance.models import DomainDefault, Policy, ToolRegistration
from runs.models import Run, RunStatus

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
        name="refund_payment", callable_path="tests.support.demo_tools.refund_payment", value_argument="amount",
        target_argument="order_id", approve_above=Decimal("100"), block_above=Decimal("10000"),
    )
    ToolRegistration.objects.create(name="lookup_order", callable_path="tests.support.demo_tools.lookup_order")
    ToolRegistration.objects.create(name="delete_customer", callable_path="tests.support.demo_tools.delete_customer")
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


def paused_run(user):
    """A run the user started, paused on the approval of a refund of 250 for ord_7; returns it refreshed."""
    return start_run_now(user, "Refund order ord_7 for 250", tools=("refund_payment",))


def blocked_run(user):
    """A run whose only call, a delete, was blocked by policy; it completed. Returns it refreshed."""
    return start_run_now(user, "Delete customer cus_9", tools=("delete_customer",))


def denied_run(user, reviewer):
    """A run whose only call, a refund of 250, `reviewer` denied; it completed. Returns it refreshed."""
    from approvals.services import resolve_approval
    from runs import worker

    run = paused_run(user)
    resolve_approval(approval=ApprovalRequest.objects.select_related("run").get(run=run), reviewer=reviewer,
                     resolution="denied", comment="not this one")
    worker.resume_run(run_id=run.pk)  # the resume queued after commit does not run inside a test transaction
    run.refresh_from_db()
    return run


def pending_approval(user, n: int = 1) -> ApprovalRequest:
    """A refund of 250 for ord_<n> waiting for a reviewer, on a run `user` started: the rows a paused
    run leaves, written directly (driving a run to its pause takes the runner and the demo model)."""
    run = Run.objects.create(started_by=user, prompt=f"Refund order ord_{n} for 250", model="gpt-4.1",
                             status=RunStatus.AWAITING_APPROVAL)
    arguments = {"order_id": f"ord_{n}", "amount": 250}
    reason = "refund_payment requires approval: value 250.00 is above 100"
    return ApprovalRequest.objects.create(
        run=run, call_id=f"call_{n}", tool="refund_payment", arguments=arguments,
        arguments_digest=arguments_digest("refund_payment", arguments),
        decision={"decision": "requires_approval", "reason": reason}, reason=reason,
    )


def make_agent_key(name: str = "billing-agent", *, actor: str = "AI_AGENT_001",
                   domains=("customer_transactions",), **options):
    """An agent API key and its secret, as `create_agent_key` makes them."""
    from agents.keys import create_key

    return create_key(name=name, actor=actor, domains=list(domains), **options)
