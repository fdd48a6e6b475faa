"""Shared by the agents' API tests: what a request could change (a refused one must leave it as it was),
demo calls with the outcome the dashboard decides for them, and the SDK pointed at a running server
(with a long-poll in a thread, timed)."""

from __future__ import annotations

import threading
import time

import bighub

from agents.models import AgentActivity, AgentKey, IdempotentRequest
from approvals.models import ApprovalRequest
from audit.models import AuditKind, AuditRecord
from governance.models import DecisionInput
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
        "decision_inputs": DecisionInput.objects.count(),
    }


# (tool, arguments, what the dashboard decides) with the demo tools and policies registered.
DEMO_CALLS = [
    ("refund_payment", {"order_id": "ord_1", "amount": 50}, "allowed"),
    ("refund_payment", {"order_id": "ord_1", "amount": 250}, "requires_approval"),
    ("refund_payment", {"order_id": "ord_1", "amount": 20_000}, "blocked"),
    ("lookup_order", {"order_id": "ord_1"}, "allowed"),
    ("delete_customer", {"customer_id": "cus_1"}, "blocked"),
]


def client_for(server, secret: str) -> bighub.BighubClient:
    return bighub.BighubClient(base_url=f"{server['url']}/bighub", api_key=secret, max_retries=0, timeout=20)


class LongPoll(threading.Thread):
    """`GET /approvals/{id}?wait=S` through the SDK's transport, in a thread, timed."""

    def __init__(self, server, secret: str, request_id: str, wait: float) -> None:
        super().__init__(daemon=True)
        self.client = client_for(server, secret)
        self.request_id, self.wait = request_id, wait
        self.answer, self.error, self.answered_at = None, None, None

    def run(self) -> None:
        try:
            self.answer = self.client._transport.request(method="GET", path=f"/approvals/{self.request_id}",
                                                          params={"wait": self.wait})
        except Exception as exc:  # the test reads it
            self.error = exc
        self.answered_at = time.monotonic()
        self.client.close()

    def result(self) -> dict:
        self.join(timeout=self.wait + 10)
        assert self.error is None, self.error
        return self.answer
