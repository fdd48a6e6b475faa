"""The contract of `agents.approval_hook.on_requires_approval`, the one place where a requires_approval answer
raises an approval request: what it returns shapes the answer, and what it raises undoes the decision."""

from __future__ import annotations

import pytest

from agents import evaluate
from agents.approval_hook import ApprovalTicket
from agents.models import AgentActivity
from audit.models import AuditKind, AuditRecord
from governance.backends.bighub_mapping import decision_from_reply

pytestmark = pytest.mark.django_db

REFUND_250 = {"action": "refund_payment", "value": 250}


def test_the_hook_is_called_only_for_requires_approval(post, agent, monkeypatch):
    calls = []
    monkeypatch.setattr(evaluate, "on_requires_approval", lambda **kwargs: calls.append(kwargs) or None)
    post("/actions/evaluate", {"action": "lookup_order"}, agent[1])
    post("/actions/evaluate", {**REFUND_250, "context": {"session_id": "s-1"}}, agent[1])
    assert [(c["key"], c["call"].action, c["call"].value, c["decision"].outcome, c["session"]) for c in calls] == [
        (agent[0], "refund_payment", 250, "requires_approval", "s-1")]


def test_the_hooks_ticket_names_the_approval_in_the_answer(post, agent, monkeypatch):
    ticket = ApprovalTicket(request_id="42", approval_url="http://dashboard/approvals/42/")
    monkeypatch.setattr(evaluate, "on_requires_approval", lambda **kwargs: ticket)
    answer = post("/actions/evaluate", REFUND_250, agent[1]).json()
    assert (answer["request_id"], answer["approval_id"], answer["approval_url"]) == (
        "42", "42", "http://dashboard/approvals/42/")
    assert answer["validation_id"] != "42"
    assert decision_from_reply(answer).approval_id == "42"  # what our backend's resolve would name
    assert AgentActivity.objects.get().request_id == "42"


def test_an_error_in_the_hook_records_nothing(post, agent, monkeypatch):
    def fail(**kwargs):
        raise RuntimeError("approvals are down")

    monkeypatch.setattr(evaluate, "on_requires_approval", fail)
    # Setting up the key and the tools wrote configuration records; the failed call must add none.
    records_before = AuditRecord.objects.exclude(kind=AuditKind.API_REFUSAL).count()
    with pytest.raises(RuntimeError):
        post("/actions/evaluate", REFUND_250, agent[1])
    assert AgentActivity.objects.count() == 0
    assert AuditRecord.objects.exclude(kind=AuditKind.API_REFUSAL).count() == records_before
