"""Decisions as the kill switch's gate records them (governance/decision_inputs.py), written directly, for the
replay and findings tests: driving runs to each outcome would take the runner and the demo model."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.utils import timezone

from governance.models import DecisionInput

RUN = uuid.UUID("00000000-0000-0000-0000-000000000001")


def recorded(tool: str, outcome: str, *, value: float | None = None, target: str | None = None,
             actor: str = "dashboard", arguments: dict | None = None, redacted: bool = False, days_ago: float = 1,
             call_id: str = "") -> DecisionInput:
    """A decision as the gate records it (the demo tools' domain)."""
    return DecisionInput.objects.create(
        tool=tool, actor=actor, domain="customer_transactions", value=value, target=target,
        arguments=arguments if arguments is not None else {}, redacted=redacted, outcome=outcome, run_id=RUN,
        call_id=call_id or f"call_{DecisionInput.objects.count() + 1}", source="dashboard",
        occurred_at=timezone.now() - timedelta(days=days_ago),
    )


def refund(amount: float, outcome: str, *, order: str = "ord_1", **options) -> DecisionInput:
    options.setdefault("arguments", {"order_id": order, "amount": amount})
    return recorded("refund_payment", outcome, value=amount, target=order, **options)


def a_week() -> list[DecisionInput]:
    """A week of the demo tools' decisions (tests.factories.register_demo_tools), as the active set decided them."""
    return [
        refund(50, "allowed"), refund(80, "allowed", order="ord_9"), refund(250, "requires_approval"),
        refund(20_000, "blocked"), recorded("lookup_order", "allowed", arguments={"order_id": "ord_1"}),
        recorded("lookup_order", "allowed", arguments={"order_id": "ord_2"}, actor="AI_AGENT_001"),
        recorded("delete_customer", "blocked", arguments={"customer_id": "cus_1"}),
    ]
