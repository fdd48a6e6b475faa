"""Shared by the agents' API tests: what a request could change (a refused one must leave it as it was),
and demo calls with the outcome the dashboard decides for them."""

from __future__ import annotations

from agents.models import AgentActivity, AgentKey, IdempotentRequest
from approvals.models import ApprovalRequest
from audit.models import AuditKind, AuditRecord
from runs.models import Run, RunEvent


def api_state() -> dict[str, int]:
    """Row counts of everything but the audit records of refusals (the one thing a refusal adds), and how
    many approval requests are pending and runs are cancelled (a refused resolve or cancel changes no count)."""
    return {
        "activity": AgentActivity.objects.count(),
        "idempotency": IdempotentRequest.objects.count(),
        "audit": AuditRecord.objects.exclude(kind=AuditKind.API_REFUSAL).count(),
        "keys": AgentKey.objects.filter(revoked_at__isnull=True).count(),
        "runs": Run.objects.count(),
        "run_events": RunEvent.objects.count(),
        "approvals": ApprovalRequest.objects.count(),
        "pending": ApprovalRequest.objects.pending().count(),
    }


# (tool, arguments, what the dashboard decides) with the demo tools and policies registered.
DEMO_CALLS = [
    ("refund_payment", {"order_id": "ord_1", "amount": 50}, "allowed"),
    ("refund_payment", {"order_id": "ord_1", "amount": 250}, "requires_approval"),
    ("refund_payment", {"order_id": "ord_1", "amount": 20_000}, "blocked"),
    ("lookup_order", {"order_id": "ord_1"}, "allowed"),
    ("delete_customer", {"customer_id": "cus_1"}, "blocked"),
]
