"""What appending an event sets off: which events nudge the dashboard pages."""

from __future__ import annotations

import pytest

from runs.event_log import changes_dashboard


@pytest.mark.parametrize(
    ("type_", "payload", "shown"),
    [
        pytest.param("status", {"status": "running"}, True, id="a-run-status"),
        pytest.param("execution_event", {"status": "executed", "tool": "lookup_order"}, False,
                     id="a-call-done-no-request"),
        pytest.param("execution_event", {"status": "executed", "approval_id": 7}, True, id="an-approved-call-done"),
        pytest.param("execution_event", {"status": "tool_error", "tool": "lookup_order"}, True, id="a-tool-error"),
        pytest.param("execution_event", {"status": "blocked", "tool": "delete_customer"}, True, id="a-blocked-call"),
        pytest.param("execution_event", {"status": "approval_required", "approval_id": 7}, True,
                     id="a-request-raised"),
        pytest.param("approval_resolved", {"approval_id": 7, "status": "approved"}, True, id="a-request-resolved"),
        pytest.param("remote_decision", {"outcome": "requires_approval", "approval_id": 8}, True,
                     id="a-remote-request-raised"),
        pytest.param("remote_decision", {"outcome": "allowed", "approval_id": None}, False,
                     id="a-remote-call-allowed"),
        pytest.param("llm_text_done", {"text": "Looking it up", "item_id": "msg_1"}, False, id="model-text"),
        pytest.param("remote_memory", {"reason": "stored"}, False, id="remote-memory"),
    ],
)
def test_event_nudges_the_dashboard_only_when_it_changes_what_it_shows(type_, payload, shown):
    assert changes_dashboard(type_, payload) is shown
