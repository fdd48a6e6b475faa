"""Seed page, "Fail Modes": what happens when the decision backend cannot answer."""

from __future__ import annotations

import socket

import bighub
import pytest

from tests.governance.guard.conftest import user
from tests.support import demo_tools


@pytest.fixture
def unreachable_bighub():
    """A real bighub client aimed at a loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return bighub.BighubClient(api_key="bh_test", base_url=f"http://127.0.0.1:{port}", max_retries=0, timeout=1)


def test_fail_closed_blocks_when_backend_down(make_guard, unreachable_bighub):
    guard = make_guard(bighub_client=unreachable_bighub, policies=None, fail_mode="closed")
    result = guard.run(messages=user("Look up ord_1"), model="gpt-4.1")
    last = result["execution"]["last"]
    assert last["status"] == "blocked"
    assert last["reason"].startswith("decision backend failed, fail_mode=closed blocks the call")
    assert demo_tools.EXECUTIONS == []


def test_fail_open_runs_when_backend_down(make_guard, unreachable_bighub):
    guard = make_guard(bighub_client=unreachable_bighub, policies=None, fail_mode="open")
    result = guard.run(messages=user("Look up ord_1"), model="gpt-4.1")
    assert result["execution"]["last"]["status"] == "executed"
    assert demo_tools.EXECUTIONS == [{"tool": "lookup_order", "order_id": "ord_1"}]


def test_check_tool_applies_fail_mode(make_guard, unreachable_bighub):
    guard = make_guard(bighub_client=unreachable_bighub, policies=None)
    assert guard.check_tool("lookup_order", {"order_id": "ord_1"})["status"] == "blocked"


def test_unknown_fail_mode_refused(make_guard):
    from governance.guard import AdapterConfigurationError

    with pytest.raises(AdapterConfigurationError, match="fail_mode must be one of"):
        make_guard(fail_mode="maybe")
