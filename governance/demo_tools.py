"""The demo tools: a refund that needs approval above 100, a read-only lookup, a delete.

They stand in for a company's real integrations in the demo and the tests: each returns what a
real one would and keeps a record of its calls, so a test can count executions: in this process
(`EXECUTIONS`), and across worker processes when DEMO_TOOL_LOG names a file (one JSON line per
call, appended when the call starts). DEMO_TOOL_SECONDS makes every call take that long, so a
test can kill a worker in the middle of one.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

_lock = threading.Lock()
EXECUTIONS: list[dict[str, Any]] = []


def _record(tool: str, **arguments: Any) -> None:
    entry = {"tool": tool, **arguments}
    with _lock:
        EXECUTIONS.append(entry)
    log = os.environ.get("DEMO_TOOL_LOG")
    if log:
        with open(log, "a") as file:  # one short write per line: appends from processes do not interleave
            file.write(json.dumps({**entry, "pid": os.getpid()}) + "\n")
    delay = float(os.environ.get("DEMO_TOOL_SECONDS") or 0)
    if delay:
        time.sleep(delay)


def refund_payment(order_id: str, amount: float) -> dict[str, Any]:
    """Refund a customer's payment for an order.

    Args:
        order_id: The order to refund, like ord_123.
        amount: The amount to refund, in the order's currency.
    """
    _record("refund_payment", order_id=order_id, amount=amount)
    return {"ok": True, "order_id": order_id, "amount": amount, "refund_id": f"re_{order_id}"}


def lookup_order(order_id: str) -> dict[str, Any]:
    """Look up an order's status (read-only).

    Args:
        order_id: The order to look up, like ord_123.
    """
    _record("lookup_order", order_id=order_id)
    return {"order_id": order_id, "status": "shipped", "total": 199.99}


def delete_customer(customer_id: str) -> dict[str, Any]:
    """Delete a customer and all their data.

    Args:
        customer_id: The customer to delete, like cus_42.
    """
    _record("delete_customer", customer_id=customer_id)
    return {"deleted": customer_id}
