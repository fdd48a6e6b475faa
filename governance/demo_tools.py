"""The demo tools: a refund that needs approval above 100, a read-only lookup, a delete.

They stand in for a company's real integrations in the demo and the tests: each returns what a
real one would, and does nothing else. The tests register them wrapped (tests/support/demo_tools.py),
so that each call is recorded.
"""

from __future__ import annotations

from typing import Any


def refund_payment(order_id: str, amount: float) -> dict[str, Any]:
    """Refund a customer's payment for an order.

    Args:
        order_id: The order to refund, like ord_123.
        amount: The amount to refund, in the order's currency.
    """
    return {"ok": True, "order_id": order_id, "amount": amount, "refund_id": f"re_{order_id}"}


def lookup_order(order_id: str) -> dict[str, Any]:
    """Look up an order's status (read-only).

    Args:
        order_id: The order to look up, like ord_123.
    """
    return {"order_id": order_id, "status": "shipped", "total": 199.99}


def delete_customer(customer_id: str) -> dict[str, Any]:
    """Delete a customer and all their data.

    Args:
        customer_id: The customer to delete, like cus_42.
    """
    return {"deleted": customer_id}
