"""The BIGHUB backend: the real `bighub` SDK over real HTTP, against the local fake control plane."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import time

import bighub
import pytest
from bighub.resources.actions import ActionsAPI

from governance.backends.bighub import AsyncBighubBackend, BighubBackend, bighub_backend_from_settings
from governance.decisions import (
    ActionRequest,
    ApprovalReadError,
    AsyncDecisionBackend,
    Decision,
    DecisionBackend,
    DecisionBackendError,
)
from tests.support.bighub_server import API_KEY


@pytest.fixture
def backend(bighub_client):
    backend = BighubBackend(bighub_client)
    yield backend
    backend.close()


def refund(value=150.0, decision_mode="submit", **extra):
    return ActionRequest(
        tool="refund_payment",
        arguments={"order_id": "ord_1", "amount": value},
        actor="AI_AGENT_001",
        domain="customer_transactions",
        value=value,
        target="ord_1",
        decision_mode=decision_mode,
        trace_id="trace_1",
        call_id="call_1",
        **extra,
    )


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- evaluate: what goes over the wire -----------------------------------------------------------


def test_evaluate_submit_mode_posts_keyword_form_with_api_key(fake_bighub, backend):
    backend.evaluate(refund(metadata={"ticket": "T-1"}))
    (request,) = fake_bighub.requests
    assert (request["method"], request["path"], request["api_key"]) == ("POST", "/actions/evaluate", API_KEY)
    assert request["user_agent"].startswith("bighub-python/")
    assert request["body"] == {
        "action": "refund_payment",
        "actor": "AI_AGENT_001",
        "value": 150.0,
        "target": "ord_1",
        "domain": "customer_transactions",
        "context": {
            "ticket": "T-1",
            "tool": "refund_payment",
            "arguments": {"order_id": "ord_1", "amount": 150.0},
            "trace_id": "trace_1",
            "session_id": "trace_1",
            "call_id": "call_1",
        },
    }


def test_evaluate_submit_v2_mode_falls_back_to_evaluate_payload(fake_bighub, backend, bighub_client):
    assert not hasattr(bighub_client.actions, "submit_v2")  # 0.1.0b5
    backend.evaluate(refund(value=None, decision_mode="submit_v2"))
    assert fake_bighub.bodies("/actions/evaluate") == [
        {
            "action": "refund_payment",
            "actor": "AI_AGENT_001",
            "domain": "customer_transactions",
            "target": "ord_1",
            "context": {
                "tool": "refund_payment",
                "arguments": {"order_id": "ord_1", "amount": None},
                "trace_id": "trace_1",
                "session_id": "trace_1",
                "call_id": "call_1",
            },
        }
    ]


def test_evaluate_submit_v2_mode_uses_submit_v2_when_the_sdk_has_it(fake_bighub, backend, bighub_client):
    class NewerActions(ActionsAPI):  # a later SDK release that has submit_v2
        calls: list = []

        def submit_v2(self, *, payload):
            self.calls.append(payload)
            return self.evaluate_payload(payload=payload)

    bighub_client.actions = NewerActions(bighub_client._transport)
    decision = backend.evaluate(refund(decision_mode="submit_v2"))
    assert [p["action"] for p in NewerActions.calls] == ["refund_payment"]
    assert decision.request_id == "val_1"


def test_evaluate_unknown_decision_mode_is_an_error(backend):
    with pytest.raises(DecisionBackendError, match="unknown decision_mode 'submit_v3'"):
        backend.evaluate(refund(decision_mode="submit_v3"))


# -- evaluate: how replies map -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        ({"enforcement_mode": "enforced", "enforced_verdict": "allowed"}, "allowed"),
        ({"enforcement_mode": "enforced", "enforced_verdict": "proceed"}, "allowed"),
        ({"enforcement_mode": "enforced", "enforced_verdict": "blocked"}, "blocked"),
        ({"enforcement_mode": "enforced", "enforced_verdict": "requires_approval"}, "requires_approval"),
        ({"enforcement_mode": "enforced", "allowed": True}, "allowed"),
        ({"enforcement_mode": "enforced", "recommendation": "proceed"}, "blocked"),  # no verdict: fail safe
        ({"enforcement_mode": "review", "recommendation": "proceed"}, "allowed"),
        ({"enforcement_mode": "review", "recommendation": "proceed_with_caution"}, "requires_approval"),
        ({"enforcement_mode": "review", "recommendation": "review_recommended"}, "requires_approval"),
        ({"enforcement_mode": "review", "recommendation": "do_not_proceed"}, "requires_approval"),
        (
            {"enforcement_mode": "review", "enforced_verdict": "allowed", "recommendation": "review_recommended"},
            "allowed",
        ),
        ({"enforcement_mode": "review", "allowed": True}, "allowed"),
        ({"enforcement_mode": "review", "allowed": False}, "requires_approval"),
        ({"enforcement_mode": "advisory", "recommendation": "do_not_proceed", "allowed": False}, "allowed"),
        ({"enforcement_mode": "advisory", "enforced_verdict": "blocked"}, "allowed"),
        ({"allowed": True, "result": "allowed"}, "allowed"),
        ({"allowed": False, "reason": "legacy block"}, "blocked"),
        ({"allowed": True, "requires_approval": True}, "requires_approval"),
        ({"allowed": False, "result": "requires_approval"}, "requires_approval"),
        ({"human_review": True}, "requires_approval"),
        ({"decision": "blocked"}, "blocked"),
        ({"recommendation": "review_recommended"}, "requires_approval"),
        ({"recommendation": "proceed_with_caution"}, "allowed"),
    ],
)
def test_reply_maps_to_outcome(fake_bighub, backend, reply, outcome):
    fake_bighub.decisions["refund_payment"] = reply
    decision = backend.evaluate(refund())
    assert (decision.outcome, decision.backend, decision.request_id) == (outcome, "bighub", "val_1")
    assert decision.raw == {"request_id": "val_1", **reply}


def test_advisory_reply_keeps_the_advice_in_the_reason(fake_bighub, backend):
    fake_bighub.decisions["refund_payment"] = {
        "enforcement_mode": "advisory",
        "recommendation": "do_not_proceed",
        "reason": "risky refund pattern",
    }
    decision = backend.evaluate(refund())
    assert (decision.outcome, decision.reason) == (
        "allowed",
        "advisory only (BIGHUB recommends do_not_proceed): risky refund pattern",
    )


def test_reply_reason_and_rule_passed_through(fake_bighub, backend):
    fake_bighub.decisions["refund_payment"] = {"allowed": False, "reason": "daily refund limit", "blocked_by": "rule_7"}
    decision = backend.evaluate(refund())
    assert (decision.reason, decision.policy_ids) == ("daily refund limit", ("rule_7",))


def test_reply_without_reason_gets_one(fake_bighub, backend):
    fake_bighub.decisions["refund_payment"] = {"enforcement_mode": "review", "recommendation": "review_recommended"}
    assert backend.evaluate(refund()).reason == (
        "BIGHUB decided requires approval (review mode); recommendation: review_recommended"
    )


def test_reply_without_any_decision_is_an_error(fake_bighub, backend):
    fake_bighub.decisions["refund_payment"] = {"risk_score": 0.4}
    with pytest.raises(
        DecisionBackendError, match=r"BIGHUB reply carries no decision \(keys: request_id, risk_score\)"
    ):
        backend.evaluate(refund())


def test_approval_reply_carries_the_approval_id(fake_bighub, backend):
    fake_bighub.decisions["refund_payment"] = {"enforcement_mode": "enforced", "enforced_verdict": "requires_approval"}
    decision = backend.evaluate(refund())
    assert (decision.request_id, decision.approval_id) == ("val_1", "val_1")


# -- errors ---------------------------------------------------------------------------------------


def test_wrong_api_key_is_a_backend_error(fake_bighub):
    client = bighub.BighubClient(api_key="wrong", base_url=fake_bighub.base_url, max_retries=0)
    with pytest.raises(DecisionBackendError) as caught:
        BighubBackend(client).evaluate(refund())
    assert str(caught.value) == "BIGHUB evaluate failed (BighubAuthError): Invalid API key"
    assert fake_bighub.requests[0]["api_key"] == "wrong"
    client.close()


def test_network_error_is_a_backend_error():
    client = bighub.BighubClient(api_key=API_KEY, base_url=f"http://127.0.0.1:{unused_port()}", max_retries=0)
    with pytest.raises(
        DecisionBackendError,
        match=r"BIGHUB evaluate failed \(BighubNetworkError\): Network error: "
        r"POST /actions/evaluate",
    ):
        BighubBackend(client).evaluate(refund())
    client.close()


def test_server_error_is_a_backend_error(fake_bighub, backend):
    fake_bighub.fail["/actions/evaluate"] = 503
    with pytest.raises(
        DecisionBackendError, match=r"BIGHUB evaluate failed \(BighubAPIError\): 503 Service Unavailable"
    ):
        backend.evaluate(refund())


def test_slow_server_times_out_as_a_backend_error(fake_bighub):
    fake_bighub.delays["/actions/evaluate"] = 1.0
    client = bighub.BighubClient(api_key=API_KEY, base_url=fake_bighub.base_url, max_retries=0, timeout=0.2)
    with pytest.raises(DecisionBackendError, match=r"\(BighubTimeoutError\): Request timed out"):
        BighubBackend(client).evaluate(refund())
    client.close()


# -- approvals, outcomes, memory -----------------------------------------------------------------


def test_recheck_is_a_dry_run_that_raises_no_approval_request(fake_bighub, backend):
    fake_bighub.decisions["refund_payment"] = {"requires_approval": True, "allowed": False}
    decision = backend.recheck(refund())
    assert decision.outcome == "requires_approval"
    assert fake_bighub.bodies("/actions/evaluate") == [{
        "action": "refund_payment", "actor": "AI_AGENT_001", "domain": "customer_transactions", "value": 150.0,
        "target": "ord_1", "dry_run": True,
        "context": {"tool": "refund_payment", "arguments": {"order_id": "ord_1", "amount": 150.0},
                    "trace_id": "trace_1", "session_id": "trace_1",
                                "call_id": "call_1"}}]
    assert fake_bighub.approvals == {}


def test_approval_poller_sends_the_sdks_headers_and_reads_the_item(fake_bighub, backend):
    fake_bighub.decisions["refund_payment"] = {"requires_approval": True, "allowed": False}
    backend.evaluate(refund())
    with backend.approval_poller() as poller:
        item = poller.get("val_1", wait_seconds=0)
    assert (item["request_id"], item["status"]) == ("val_1", "pending")
    (read,) = [r for r in fake_bighub.requests if r["method"] == "GET"]
    assert (read["path"], read["query"], read["api_key"], read["user_agent"]) == (
        "/approvals/val_1", {"wait": ["0"]}, API_KEY, f"bighub-python/{bighub.__version__}")


def test_approval_poller_refused_key_is_not_worth_retrying(fake_bighub):
    client = bighub.BighubClient(api_key="wrong", base_url=fake_bighub.base_url, max_retries=0)
    with BighubBackend(client).approval_poller() as poller, pytest.raises(ApprovalReadError) as caught:
        poller.get("val_1", wait_seconds=1)
    assert (str(caught.value), caught.value.transient) == (
        "the control plane refused to show approval request val_1 (401: Invalid API key)", False)
    client.close()


async def test_async_approval_poller_network_error_is_worth_retrying():
    client = bighub.AsyncBighubClient(api_key=API_KEY, base_url=f"http://127.0.0.1:{unused_port()}", max_retries=0)
    async with AsyncBighubBackend(client).approval_poller() as poller:
        with pytest.raises(ApprovalReadError) as caught:
            await poller.get("val_1", wait_seconds=1)
    assert caught.value.transient is True
    assert str(caught.value).startswith("could not reach the control plane for approval request val_1 (ConnectError: ")
    await client.close()



def test_resolve_approval_posts_to_bighub(fake_bighub, backend, bighub_client):
    fake_bighub.decisions["refund_payment"] = {"requires_approval": True, "allowed": False}
    decision = backend.evaluate(refund())
    assert [a["request_id"] for a in bighub_client.approvals.list()] == ["val_1"]
    reply = backend.resolve_approval(decision, resolution="approved", comment="ok by on-call")
    assert fake_bighub.bodies("/approvals/val_1/resolve") == [{"resolution": "approved", "comment": "ok by on-call"}]
    assert (reply["request_id"], reply["status"]) == ("val_1", "approved")
    assert bighub_client.approvals.list() == []


def test_resolve_approval_twice_is_a_backend_error(fake_bighub, backend):
    fake_bighub.decisions["refund_payment"] = {"requires_approval": True}
    decision = backend.evaluate(refund())
    backend.resolve_approval(decision, resolution="rejected")
    with pytest.raises(DecisionBackendError, match=r"approval resolve failed \(BighubAPIError\): 409 Conflict"):
        backend.resolve_approval(decision, resolution="approved")


def test_resolve_approval_without_an_id_is_a_backend_error(fake_bighub, backend):
    decision = Decision(outcome="requires_approval", reason="r", backend="bighub")
    with pytest.raises(DecisionBackendError, match="no BIGHUB approval id"):
        backend.resolve_approval(decision, resolution="approved")
    assert fake_bighub.requests == []


def test_report_outcome_posts_to_bighub(fake_bighub, backend):
    fake_bighub.decisions["refund_payment"] = {"enforcement_mode": "advisory", "recommendation": "proceed"}
    action = refund()
    decision = backend.evaluate(action)
    backend.report_outcome(action, decision, status="executed", output={"ok": True, "at": dt.date(2026, 1, 2)})
    assert fake_bighub.bodies("/outcomes/report") == [
        {
            "status": "executed",
            "request_id": "val_1",
            "description": "refund_payment executed",
            "details": {"tool": "refund_payment", "call_id": "call_1", "output": {"ok": True, "at": "2026-01-02"}},
            "reported_by": "governance-dashboard",
            "production_action": "refund_payment",
            "recommendation_followed": True,
        }
    ]


def test_report_outcome_without_a_bighub_decision_sends_nothing(fake_bighub, backend):
    decision = Decision(outcome="allowed", reason="fail open", backend="adapter")
    backend.report_outcome(refund(), decision, status="executed", output=None)
    assert fake_bighub.requests == []


def test_report_outcome_failure_is_a_backend_error(fake_bighub, backend):
    fake_bighub.fail["/outcomes/report"] = 500
    decision = Decision(outcome="allowed", reason="r", request_id="val_9", backend="bighub")
    with pytest.raises(DecisionBackendError, match=r"outcome report failed \(BighubAPIError\): 500"):
        backend.report_outcome(refund(), decision, status="executed", output=None)


def test_ingest_memory_posts_events(fake_bighub, backend):
    events = [
        {
            "event_id": "evt_1",
            "seq": 0,
            "schema_version": 1,
            "source_version": "governance-dashboard@0.1.0",
            "trace_id": "trace_1",
            "tool": "refund_payment",
            "status": "executed",
            "error": None,
        }
    ]
    backend.ingest_memory(events, source="openai_adapter", timeout_seconds=2)
    (body,) = fake_bighub.bodies("/actions/memory/ingest")
    assert body == {
        "source": "openai_adapter",
        "events": [{k: v for k, v in events[0].items() if v is not None}],
        "redact": True,
        "redaction_policy": "default",
        "source_version": "governance-dashboard@0.1.0",
        "trace_id": "trace_1",
    }


def test_ingest_memory_gives_up_after_its_timeout(fake_bighub, backend):
    fake_bighub.ingest_delay_seconds = 1.0
    started = time.monotonic()
    with pytest.raises(DecisionBackendError, match=r"memory ingest failed \(BighubTimeoutError\)"):
        backend.ingest_memory([{"event_id": "evt_1"}], source="s", timeout_seconds=0.2)
    assert time.monotonic() - started < 0.8
    assert fake_bighub.paths() == ["/actions/memory/ingest"]  # one attempt: no retry on the memory path


def test_ingest_memory_server_error_is_a_backend_error(fake_bighub, backend):
    fake_bighub.ingest_status = 500
    with pytest.raises(DecisionBackendError, match=r"memory ingest failed \(BighubAPIError\): 500"):
        backend.ingest_memory([{"event_id": "evt_1"}], source="s", timeout_seconds=1)


def test_backend_satisfies_the_protocols(backend, fake_bighub):
    assert isinstance(backend, DecisionBackend)
    async_client = bighub.AsyncBighubClient(api_key=API_KEY, base_url=fake_bighub.base_url)
    assert isinstance(AsyncBighubBackend(async_client), AsyncDecisionBackend)


def test_backend_from_settings_talks_to_base_url(fake_bighub):
    backend = bighub_backend_from_settings(API_KEY, fake_bighub.base_url, max_retries=0)
    fake_bighub.decisions["refund_payment"] = {
        "enforcement_mode": "enforced",
        "enforced_verdict": "blocked",
        "reason": "over limit",
    }
    decision = backend.evaluate(refund())
    assert (decision.outcome, decision.reason) == ("blocked", "over limit")
    assert (backend.client.api_key, backend.client.base_url) == (API_KEY, fake_bighub.base_url)
    backend.close()


# -- async ----------------------------------------------------------------------------------------


def test_async_backend_round_trip(fake_bighub):
    fake_bighub.decisions["refund_payment"] = {"enforcement_mode": "review", "recommendation": "review_recommended"}

    async def scenario():
        client = bighub.AsyncBighubClient(api_key=API_KEY, base_url=fake_bighub.base_url, max_retries=0)
        backend = AsyncBighubBackend(client)
        try:
            action = refund(decision_mode="submit_v2")
            decision = await backend.evaluate(action)
            resolved = await backend.resolve_approval(decision, resolution="approved", comment="fine")
            await backend.report_outcome(action, decision, status="executed", output={"ok": True})
            await backend.ingest_memory([{"event_id": "evt_1", "seq": 0}], source="s", timeout_seconds=2)
            return decision, resolved
        finally:
            await client.close()

    decision, resolved = asyncio.run(scenario())
    assert (decision.outcome, decision.request_id) == ("requires_approval", "val_1")
    assert resolved["status"] == "approved"
    assert fake_bighub.paths() == [
        "/actions/evaluate",
        "/approvals/val_1/resolve",
        "/outcomes/report",
        "/actions/memory/ingest",
    ]
    assert {r["api_key"] for r in fake_bighub.requests} == {API_KEY}


def test_async_backend_network_error_is_a_backend_error():
    async def scenario():
        client = bighub.AsyncBighubClient(api_key=API_KEY, base_url=f"http://127.0.0.1:{unused_port()}", max_retries=0)
        try:
            await AsyncBighubBackend(client).evaluate(refund())
        finally:
            await client.close()

    with pytest.raises(DecisionBackendError, match=r"\(BighubNetworkError\)"):
        asyncio.run(scenario())


def test_async_ingest_memory_gives_up_after_its_timeout(fake_bighub):
    fake_bighub.ingest_delay_seconds = 1.0

    async def scenario():
        client = bighub.AsyncBighubClient(api_key=API_KEY, base_url=fake_bighub.base_url, max_retries=0)
        try:
            await AsyncBighubBackend(client).ingest_memory([{"event_id": "e"}], source="s", timeout_seconds=0.2)
        finally:
            await client.close()

    started = time.monotonic()
    with pytest.raises(DecisionBackendError, match=r"BIGHUB memory ingest timed out after 0\.2s"):
        asyncio.run(scenario())
    assert time.monotonic() - started < 0.8
