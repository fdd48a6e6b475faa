"""The published `bighub` SDK, unmodified, against the real ASGI server (uvicorn) on loopback.

`BighubClient(base_url=".../bighub", api_key=...)` and its async twin: evaluate (single and batch),
outcome reports, memory ingest, Idempotency-Key, and every refusal as the SDK surfaces it. Each test
makes its own key, so the server's per-key rate limit (30 a minute here) counts one test at a time.
"""

from __future__ import annotations

import time

import bighub
import pytest
from asgiref.sync import sync_to_async

from agents.keys import revoke_key
from agents.models import ActivityKind, AgentActivity, AgentKey
from audit.models import AuditKind, AuditRecord
from governance import demo_tools
from governance.assembly import build_guard
from governance.backends.bighub_mapping import decision_from_reply
from governance.guard import GuardedOpenAI
from tests.agents.support import DEMO_CALLS

pytestmark = pytest.mark.django_db(transaction=True)

ACTOR, DOMAIN = "AI_AGENT_001", "customer_transactions"


def test_sdk_evaluate_answers_what_the_dashboard_decides(sdk):
    for tool, arguments, outcome in DEMO_CALLS:
        dashboard = build_guard(tool_names=[tool], actor=ACTOR).check_tool(tool, arguments)["decision"]
        reply = sdk.actions.evaluate(action=tool, value=arguments.get("amount"), actor=ACTOR, domain=DOMAIN,
                                     context={"arguments": arguments, "session_id": "sess-1"})
        assert (reply["result"], reply["reason"], reply["policy_ids"]) == (
            outcome, dashboard["reason"], dashboard["policy_ids"])
        assert decision_from_reply(reply).outcome == outcome  # our BIGHUB backend reads the same outcome
    assert list(AgentActivity.objects.values_list("session", "status")) == [("sess-1", o) for _, _, o in DEMO_CALLS]


def test_guarded_openai_pointed_at_the_dashboard_decides_as_the_dashboard(api_server, secret):
    client = bighub.BighubClient(base_url=f"{api_server['url']}/bighub", api_key=secret, max_retries=0)
    guard = GuardedOpenAI(bighub_client=client, actor=ACTOR, domain=DOMAIN, memory_enabled=False)
    guard.tool("refund_payment", demo_tools.refund_payment, value_from_args=lambda a: a["amount"])
    guard.tool("lookup_order", demo_tools.lookup_order)
    guard.tool("delete_customer", demo_tools.delete_customer)
    for tool, arguments, outcome in DEMO_CALLS:
        remote = guard.check_tool(tool, arguments)["decision"]
        assert (remote["outcome"], remote["backend"]) == (outcome, "bighub")
    client.close()


async def test_async_sdk_evaluates_one_call_and_a_batch(api_server, secret):
    client = bighub.AsyncBighubClient(base_url=f"{api_server['url']}/bighub", api_key=secret, max_retries=0)
    one = await client.actions.evaluate(action="refund_payment", value=250, actor=ACTOR, domain=DOMAIN)
    batch = await client.actions.evaluate_batch(
        actions=[{"action": tool, "context": {"arguments": arguments}} for tool, arguments, _ in DEMO_CALLS],
        actor=ACTOR, domain=DOMAIN)
    await client.close()
    assert (one["result"], one["requires_approval"], one["enforcement_mode"]) == ("requires_approval", True, "enforced")
    assert [reply["result"] for reply in batch] == [outcome for _, _, outcome in DEMO_CALLS]
    assert await sync_to_async(AgentActivity.objects.count)() == 1 + len(DEMO_CALLS)


def test_sdk_reports_an_outcome_and_ingests_memory(sdk):
    decided = sdk.actions.evaluate(action="lookup_order", actor=ACTOR, domain=DOMAIN, context={"session_id": "s-7"})
    reported = sdk.outcomes.report(status="executed", request_id=decided["request_id"], reported_by="agent",
                                   details={"rows": 1})
    ingested = sdk.actions.ingest_memory(events=[{"event_id": "evt_1", "seq": 1, "tool": "lookup_order",
                                                  "status": "executed", "request_id": decided["request_id"]}],
                                         source="adapter", source_version="test@1")
    assert (reported["status"], reported["request_id"], reported["details"]) == (
        "executed", decided["request_id"], {"rows": 1})
    assert ingested == {"accepted": 1, "total_stored": 1, "source": "adapter"}
    assert list(AgentActivity.objects.order_by("id").values_list("kind", "session")) == [
        (ActivityKind.DECISION, "s-7"), (ActivityKind.OUTCOME, "s-7"), (ActivityKind.MEMORY, "s-7")]


def test_sdk_idempotency_key_replays_and_conflicts(sdk):
    first = sdk.actions.evaluate(action="refund_payment", value=250, actor=ACTOR, domain=DOMAIN, idempotency_key="k1")
    again = sdk.actions.evaluate(action="refund_payment", value=250, actor=ACTOR, domain=DOMAIN, idempotency_key="k1")
    with pytest.raises(bighub.BighubAPIError) as conflict:
        sdk.actions.evaluate(action="refund_payment", value=50, actor=ACTOR, domain=DOMAIN, idempotency_key="k1")
    assert again == first
    assert conflict.value.status_code == 409
    assert AgentActivity.objects.count() == 1


def test_sdk_surfaces_each_refusal(api_server, sdk, secret):
    wrong = bighub.BighubClient(base_url=f"{api_server['url']}/bighub", api_key=secret[:-3] + "abc", max_retries=0)
    with pytest.raises(bighub.BighubAuthError, match="invalid API key"):
        wrong.actions.evaluate(action="lookup_order", actor=ACTOR, domain=DOMAIN)
    wrong.close()
    with pytest.raises(bighub.BighubAuthError, match="acts as actor 'AI_AGENT_001', not 'AI_AGENT'"):
        sdk.actions.evaluate(action="lookup_order", domain=DOMAIN)  # the SDK's default actor
    with pytest.raises(bighub.BighubValidationError) as invalid:
        sdk.actions.evaluate_payload(payload={"action": "refund_payment", "value": "lots", "actor": ACTOR})
    assert [error["loc"] for error in invalid.value.validation_errors] == [["body", "value"]]
    with pytest.raises(bighub.BighubAPIError) as too_big:
        sdk.actions.evaluate(action="lookup_order", actor=ACTOR, domain=DOMAIN, context={"note": "x" * 1_100_000})
    assert too_big.value.status_code == 413
    assert AgentActivity.objects.count() == 0


def test_sdk_rate_limit_error_carries_retry_after(sdk):
    answered = 0
    with pytest.raises(bighub.BighubRateLimitError) as limited:
        for _ in range(61):  # 30 a minute: even across a minute's turn the 61st is refused
            sdk.actions.evaluate(action="lookup_order", actor=ACTOR, domain=DOMAIN)
            answered += 1
    assert 30 <= answered <= 60
    assert 1 <= limited.value.retry_after_seconds <= 60
    assert AgentActivity.objects.count() == answered


def test_a_revoked_key_stops_working_within_one_second(sdk):
    key = AgentKey.objects.get()
    sdk.actions.evaluate(action="lookup_order", actor=ACTOR, domain=DOMAIN)
    revoke_key(key=key)
    revoked_at = time.monotonic()
    with pytest.raises(bighub.BighubAuthError, match="API key revoked"):
        sdk.actions.evaluate(action="lookup_order", actor=ACTOR, domain=DOMAIN)
    assert time.monotonic() - revoked_at < 1.0


def test_no_secret_reaches_the_servers_log(api_server, sdk, secret):
    with pytest.raises(bighub.BighubAuthError):
        sdk.actions.evaluate(action="lookup_order", actor="someone-else", domain=DOMAIN,
                             context={"note": f"leaked {secret}"})
    sdk.actions.evaluate(action="lookup_order", actor=ACTOR, domain=DOMAIN, context={"note": f"leaked {secret}"})
    log = api_server["log"].read_text()
    assert "POST /bighub/actions/evaluate" in log
    assert secret not in log
    assert secret not in str(list(AgentActivity.objects.values_list("payload", flat=True)))
    recorded = list(AuditRecord.objects.values_list("details", "search_text", "reason"))
    kinds = AuditRecord.objects.exclude(kind=AuditKind.CONFIGURATION).order_by("id").values_list("kind", flat=True)
    assert list(kinds) == ["api_refusal", "run_status", "decision"]  # the session's run opened, then the decision
    assert secret not in str(recorded)
