"""Seed page, "Silent mode": check_tool decides without executing anything."""

from __future__ import annotations

import pytest

from governance.guard import AdapterConfigurationError
from tests.support import demo_tools


@pytest.mark.parametrize(
    ("amount", "status"),
    [(50.0, "allowed"), (100.0, "allowed"), (100.01, "approval_required"), (10_000.0, "approval_required"),
     (10_000.01, "blocked")],
)
def test_check_tool_refund_thresholds(make_guard, amount, status):
    decision = make_guard().check_tool("refund_payment", {"order_id": "ord_123", "amount": amount})
    assert decision["status"] == status
    assert decision["allowed"] is (status == "allowed")
    assert demo_tools.EXECUTIONS == []


def test_check_tool_gives_reason_and_request_id(make_guard):
    decision = make_guard().check_tool("delete_customer", {"customer_id": "cus_1"})
    assert decision["status"] == "blocked"
    assert decision["request_id"]
    assert decision["reason"]
    assert decision["decision"]["policy_ids"]


def test_check_tool_unknown_tool_is_an_error(make_guard):
    with pytest.raises(AdapterConfigurationError, match="unknown tool 'format_disk'"):
        make_guard().check_tool("format_disk", {})
