"""The agents' API through Django's test client: every refusal, idempotency, and decisions equal to the dashboard's.

Each refusal answers JSON, changes nothing (`state()` is the same before and after) and leaves one
audit record of kind api_refusal.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from agents.keys import revoke_key
from agents.models import ActivityKind, AgentActivity, AgentKey
from audit.models import AuditKind, AuditRecord
from governance.assembly import build_guard
from governance.models import DomainDefault, Policy, ToolRegistration
from tests.agents.support import DEMO_CALLS
from tests.agents.support import api_state as state
from tests.factories import make_agent_key

pytestmark = pytest.mark.django_db

REFUND_250 = {"action": "refund_payment", "value": 250, "actor": "AI_AGENT_001", "domain": "customer_transactions"}


def refusals() -> list[tuple[str, str]]:
    return list(AuditRecord.objects.filter(kind=AuditKind.API_REFUSAL).order_by("id").values_list("status", "reason"))


# --- 401 --------------------------------------------------------------------------------------------------------


def test_evaluate_without_a_key_is_401_and_recorded(post, agent):
    before = state()
    response = post("/actions/evaluate", REFUND_250, None)
    assert (response.status_code, response.json()) == (401, {"detail": "no API key: send it in the X-API-Key header"})
    assert state() == before
    assert refusals() == [("401", "no API key: send it in the X-API-Key header (further refusals like this one "
                                  "within 60 s are not recorded)")]


@pytest.mark.parametrize(("spoil", "detail"), [
    (lambda key, secret: secret[:-2] + "xx", "invalid API key"),
    (lambda key, secret: revoke_key(key=key) and secret, "API key revoked"),
    (lambda key, secret: AgentKey.objects.filter(pk=key.pk).update(expires_at=timezone.now()) and secret,
     "API key expired"),
])
def test_evaluate_with_a_wrong_revoked_or_expired_key_is_401(post, agent, spoil, detail):
    key, secret = agent
    secret = spoil(key, secret)
    before = state()
    response = post("/actions/evaluate", REFUND_250, secret)
    assert (response.status_code, response.json()) == (401, {"detail": detail})
    assert state() == before
    assert [status for status, _ in refusals()] == ["401"]


def test_a_flood_of_wrong_keys_is_recorded_once_a_minute(post, agent):
    for _ in range(5):
        assert post("/actions/evaluate", REFUND_250, "gd_live_" + "0" * 52).status_code == 401
    assert len(refusals()) == 1


def test_revoked_key_is_refused_at_its_next_request(post, agent):
    key, secret = agent
    assert post("/actions/evaluate", REFUND_250, secret).status_code == 200
    revoke_key(key=key)
    assert post("/actions/evaluate", REFUND_250, secret).status_code == 401


# --- 403 --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "detail", "recorded"), [
    ({"actor": "AI_AGENT_002"}, "this API key acts as actor 'AI_AGENT_001', not 'AI_AGENT_002'",
     ("AI_AGENT_002", "customer_transactions")),
    ({"domain": "payroll"}, "this API key may not act in domain 'payroll' (its domains: customer_transactions)",
     ("AI_AGENT_001", "payroll")),
])
def test_evaluate_naming_another_actor_or_domain_is_403_and_recorded(post, agent, change, detail, recorded):
    before = state()
    response = post("/actions/evaluate", {**REFUND_250, **change}, agent[1])
    assert (response.status_code, response.json()) == (403, {"detail": detail})
    assert state() == before
    record = AuditRecord.objects.get(kind=AuditKind.API_REFUSAL)
    assert (record.status, record.reason, record.actor, record.domain) == ("403", detail, *recorded)
    assert record.details_data == {"client": "127.0.0.1", "key": "billing-agent", "key_prefix": agent[0].prefix,
                                   "method": "POST", "path": "/bighub/actions/evaluate"}


def test_a_batch_with_one_call_out_of_scope_is_403_and_decides_nothing(post, agent):
    body = {"actor": "AI_AGENT_001", "actions": [{"action": "lookup_order"}, {"action": "lookup_order",
                                                                             "domain": "payroll"}]}
    before = state()
    response = post("/actions/evaluate/batch", body, agent[1])
    assert response.status_code == 403
    assert state() == before


def test_an_outcome_for_another_actors_decision_is_403(post, agent):
    _, other_secret = make_agent_key("other", actor="AI_AGENT_002")
    decided = post("/actions/evaluate", {**REFUND_250, "actor": "AI_AGENT_002"}, other_secret).json()
    before = state()
    response = post("/outcomes/report", {"status": "executed", "request_id": decided["request_id"]}, agent[1])
    assert (response.status_code, response.json()) == (
        403, {"detail": "this API key acts as actor 'AI_AGENT_001', not 'AI_AGENT_002'"})
    assert state() == before


def test_memory_naming_another_actor_is_403(post, agent):
    body = {"source": "adapter", "actor": "AI_AGENT_002", "events": [{"event_id": "evt_1", "tool": "lookup_order"}]}
    before = state()
    assert post("/actions/memory/ingest", body, agent[1]).status_code == 403
    assert state() == before


# --- 413, 400, 422 ----------------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413(post, agent, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    before = state()
    response = post("/actions/evaluate", {**REFUND_250, "context": {"note": "x" * 2_000}}, agent[1])
    assert (response.status_code, response.json()) == (413, {"detail": "the request body is larger than 1,000 bytes"})
    assert state() == before
    assert refusals() == [("413", "the request body is larger than 1,000 bytes")]


@pytest.mark.parametrize(("body", "detail"), [
    (b'{"action": "refund_payment",', "the request body is not valid JSON: Expecting property name enclosed in "
                                      "double quotes: line 1 column 29 (char 28)"),
    (b'{"action": "refund_payment", "value": NaN}', "the request body is not valid JSON: NaN is not a JSON value"),
    (b'{"action": "refund\\u0000"}', "the request body is not valid JSON: a string contains a NUL character "
                                    "(\\u0000)"),
    (b'{"action": "\\ud800"}', "the request body is not valid JSON: a string contains a lone surrogate (an unpaired "
                              "\\ud800-\\udfff escape)"),
    (b'{"action": "\xff"}', "the request body is not valid JSON: 'utf-8' codec can't decode byte 0xff in position "
                            "12: invalid start byte"),
])
def test_malformed_json_is_400(post, agent, body, detail):
    before = state()
    response = post("/actions/evaluate", body, agent[1])
    assert (response.status_code, response.json()) == (400, {"detail": detail})
    assert state() == before
    assert refusals() == [("400", detail)]


@pytest.mark.parametrize(("path", "body", "loc", "kind"), [
    ("/actions/evaluate", {"action": "refund_payment", "value": "lots"}, ["body", "value"], "float_parsing"),
    ("/actions/evaluate", {"value": 5}, ["body", "action"], "missing"),
    ("/actions/evaluate", {"action": "refund_payment", "context": {"arguments": [1]}},
     ["body", "context", "arguments"], "dict_type"),
    ("/actions/evaluate", {"action": "refund_payment", "actor": 7}, ["body", "actor"], "string_type"),
    ("/actions/evaluate/batch", {"actions": [{"action": "lookup_order"}, {"action": "x", "value": []}]},
     ["body", "actions", 1, "value"], "float_type"),
    ("/outcomes/report", {"request_id": "r1"}, ["body", "status"], "missing"),
    ("/actions/memory/ingest", {"source": "adapter", "events": {"a": 1}}, ["body", "events"], "list_type"),
    ("/actions/evaluate", [REFUND_250], ["body"], "model_type"),
])
def test_a_field_of_the_wrong_type_is_422_naming_it(post, agent, path, body, loc, kind):
    before = state()
    response = post(path, body, agent[1])
    assert response.status_code == 422
    assert [(e["loc"], e["type"]) for e in response.json()["detail"]] == [(loc, kind)]
    assert state() == before
    assert [status for status, _ in refusals()] == ["422"]


def test_a_value_contradicting_the_arguments_is_422(post, agent):
    body = {**REFUND_250, "value": 5, "context": {"arguments": {"order_id": "ord_1", "amount": 5000}}}
    before = state()
    response = post("/actions/evaluate", body, agent[1])
    assert (response.status_code, response.json()) == (422, {"detail": [{
        "loc": ["body", "value"], "msg": "value contradicts context.arguments.amount; send one amount",
        "type": "value_error"}]})
    assert state() == before


def test_a_key_with_several_domains_must_name_one(post, demo_tools_registered):
    _, secret = make_agent_key(domains=["customer_transactions", "billing"])
    response = post("/actions/evaluate", {"action": "lookup_order"}, secret)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "domain"]


def test_an_idempotency_key_that_is_not_printable_ascii_is_422(post, agent):
    response = post("/actions/evaluate", REFUND_250, agent[1], HTTP_IDEMPOTENCY_KEY="two words")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]


# --- 429 --------------------------------------------------------------------------------------------------------


def test_a_key_over_its_rate_limit_is_429_with_retry_after(post, agent, settings):
    settings.GOVERNANCE_API_RATE_LIMIT_PER_MINUTE = 3
    assert [post("/actions/evaluate", REFUND_250, agent[1]).status_code for _ in range(3)] == [200, 200, 200]
    before = state()
    refused = [post("/actions/evaluate", REFUND_250, agent[1]) for _ in range(3)]
    assert [r.status_code for r in refused] == [429, 429, 429]
    retry_after = int(refused[0]["Retry-After"])
    assert 1 <= retry_after <= 60
    assert re.fullmatch(r"rate limit reached: 3 requests per minute for this API key; retry after \d+ s",
                        refused[0].json()["detail"])
    assert state() == before
    assert refusals() == [("429", "rate limit reached: 3 requests per minute (further refusals like this one within "
                                  "60 s are not recorded)")]


def test_the_rate_limit_counts_per_key(post, agent, settings):
    settings.GOVERNANCE_API_RATE_LIMIT_PER_MINUTE = 1
    _, other = make_agent_key("other")
    assert post("/actions/evaluate", REFUND_250, agent[1]).status_code == 200
    assert post("/actions/evaluate", REFUND_250, other).status_code == 200
    assert post("/actions/evaluate", REFUND_250, agent[1]).status_code == 429


# --- idempotency ------------------------------------------------------------------------------------------------


def test_the_same_idempotency_key_and_body_replay_the_answer_recorded_once(post, agent):
    first = post("/actions/evaluate", REFUND_250, agent[1], HTTP_IDEMPOTENCY_KEY="idem-1")
    after_first = state()
    second = post("/actions/evaluate", REFUND_250, agent[1], HTTP_IDEMPOTENCY_KEY="idem-1")
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json() == first.json()
    assert state() == after_first
    assert AgentActivity.objects.filter(kind=ActivityKind.DECISION).count() == 1


def test_the_same_idempotency_key_with_another_body_is_409(post, agent):
    post("/actions/evaluate", REFUND_250, agent[1], HTTP_IDEMPOTENCY_KEY="idem-1")
    before = state()
    response = post("/actions/evaluate", {**REFUND_250, "value": 50}, agent[1], HTTP_IDEMPOTENCY_KEY="idem-1")
    assert (response.status_code, response.json()) == (
        409, {"detail": "Idempotency-Key 'idem-1' was already used for another request"})
    assert state() == before
    assert [status for status, _ in refusals()] == ["409"]


def test_idempotency_keys_belong_to_their_api_key(post, agent):
    _, other = make_agent_key("other")
    first = post("/actions/evaluate", REFUND_250, agent[1], HTTP_IDEMPOTENCY_KEY="idem-1").json()
    second = post("/actions/evaluate", {**REFUND_250, "value": 50}, other, HTTP_IDEMPOTENCY_KEY="idem-1").json()
    assert (first["result"], second["result"]) == ("requires_approval", "allowed")


# --- decisions --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("tool", "arguments", "outcome"), DEMO_CALLS)
@pytest.mark.parametrize("sends_arguments", [True, False])
def test_evaluate_decides_as_the_dashboard_does(post, agent, tool, arguments, outcome, sends_arguments):
    dashboard = build_guard(tool_names=[tool], actor="AI_AGENT_001").check_tool(tool, arguments)["decision"]
    body = {"action": tool, "actor": "AI_AGENT_001", "domain": "customer_transactions"}
    if sends_arguments:  # what our library sends
        body["context"] = {"arguments": arguments}
    elif "amount" in arguments:  # what the published adapter sends: the value, not the arguments
        body["value"] = arguments["amount"]
    answer = post("/actions/evaluate", body, agent[1]).json()
    assert dashboard["outcome"] == outcome
    assert (answer["result"], answer["reason"], answer["policy_ids"]) == (
        outcome, dashboard["reason"], dashboard["policy_ids"])
    assert (answer["allowed"], answer["requires_approval"]) == (outcome == "allowed", outcome == "requires_approval")


def test_policies_see_context_arguments(post, agent):
    Policy.objects.create(name="vip", cedar='forbid(principal, action == Action::"lookup_order", resource) when '
                                           '{ context has arguments && context.arguments has order_id && '
                                           'context.arguments.order_id == "ord_vip" };')
    guard = build_guard(tool_names=["lookup_order"], actor="AI_AGENT_001")
    for order_id, outcome in (("ord_vip", "blocked"), ("ord_1", "allowed")):
        arguments = {"order_id": order_id}
        answer = post("/actions/evaluate", {"action": "lookup_order", "context": {"arguments": arguments}},
                      agent[1]).json()
        assert (answer["result"], guard.check_tool("lookup_order", arguments)["decision"]["outcome"]) == (
            outcome, outcome)


def test_an_unknown_tool_is_decided_by_its_domains_default(post, demo_tools_registered):
    DomainDefault.objects.create(domain="support", outcome="requires_approval")
    _, secret = make_agent_key(domains=["customer_transactions", "support"])
    answers = [post("/actions/evaluate", {"action": "send_email", "domain": domain}, secret).json()
               for domain in ("support", "customer_transactions")]
    assert [(a["result"], a["reason"], a["policy_ids"]) for a in answers] == [
        ("requires_approval", "send_email is not a tool registered in the dashboard; the default of domain "
                              "'support' is requires approval", ["default:support"]),
        ("blocked", "send_email is not a tool registered in the dashboard; the default of domain "
                    "'customer_transactions' is blocked", ["default:customer_transactions"]),
    ]


def test_a_disabled_tool_is_blocked(post, agent):
    ToolRegistration.objects.filter(name="lookup_order").update(enabled=False)
    answer = post("/actions/evaluate", {"action": "lookup_order"}, agent[1]).json()
    assert (answer["result"], answer["reason"]) == ("blocked", "lookup_order is disabled in the dashboard")


def test_a_tool_of_another_domain_is_blocked(post, demo_tools_registered):
    _, secret = make_agent_key(domains=["support"])
    answer = post("/actions/evaluate", {"action": "lookup_order"}, secret).json()
    assert (answer["result"], answer["reason"]) == (
        "blocked", "lookup_order is registered in domain 'customer_transactions', not 'support'")


def test_arguments_that_do_not_match_the_tools_schema_are_blocked(post, agent):
    body = {"action": "refund_payment", "context": {"arguments": {"order_id": "ord_1"}}}
    answer = post("/actions/evaluate", body, agent[1]).json()
    assert (answer["result"], answer["reason"]) == (
        "blocked", "invalid arguments for refund_payment: 'amount' is a required property")


def test_a_decision_is_recorded_with_its_session_and_redacted_arguments(post, agent):
    ToolRegistration.objects.filter(name="refund_payment").update(redact_fields="order_id")
    body = {"action": "refund_payment", "context": {"arguments": {"order_id": "ord_1", "amount": 250},
                                                    "session_id": "sess-1"}}
    answer = post("/actions/evaluate", body, agent[1]).json()
    row = AgentActivity.objects.get()
    assert (row.kind, row.session, row.actor, row.domain, row.tool, row.status, row.request_id) == (
        "decision", "sess-1", "AI_AGENT_001", "customer_transactions", "refund_payment", "requires_approval",
        answer["request_id"])
    assert row.payload["request"]["arguments"] == {"order_id": "[redacted]", "amount": 250}
    record = AuditRecord.objects.get(kind=AuditKind.DECISION)
    assert (record.decision, record.tool, record.actor, record.policy_ids) == (
        "requires_approval", "refund_payment", "AI_AGENT_001", "refund_payment-threshold")
    assert record.details_data["arguments"] == {"order_id": "[redacted]", "amount": 250}


def test_a_redacted_target_sent_without_arguments_is_stored_redacted(post, agent):
    ToolRegistration.objects.filter(name="refund_payment").update(redact_fields="order_id")
    post("/actions/evaluate", {**REFUND_250, "target": "ord_secret"}, agent[1])  # as the published adapter sends
    assert AgentActivity.objects.get().payload["request"]["target"] == "[redacted]"
    assert AuditRecord.objects.get(kind=AuditKind.DECISION).details_data["target"] == "[redacted]"
    assert "ord_secret" not in AuditRecord.objects.get(kind=AuditKind.DECISION).search_text


def test_a_decision_without_a_session_joins_the_keys_session_of_the_day(post, agent):
    post("/actions/evaluate", REFUND_250, agent[1])
    assert AgentActivity.objects.get().session == f"{agent[0].prefix}:{timezone.now().date().isoformat()}"


def test_a_dry_run_decides_and_records_nothing(post, agent):
    before = state()
    answer = post("/actions/evaluate", {**REFUND_250, "dry_run": True}, agent[1]).json()
    assert (answer["result"], answer["dry_run"]) == ("requires_approval", True)
    assert state() == before


def test_a_batch_is_answered_in_order_as_a_list(post, agent):
    body = {"actor": "AI_AGENT_001", "domain": "customer_transactions",
            "actions": [{"action": "lookup_order"}, {"action": "delete_customer"}, {"action": "refund_payment",
                                                                                   "value": 250}]}
    answers = post("/actions/evaluate/batch", body, agent[1]).json()
    assert [a["result"] for a in answers] == ["allowed", "blocked", "requires_approval"]
    assert AgentActivity.objects.count() == 3


# --- outcomes and memory ----------------------------------------------------------------------------------------


def test_an_outcome_joins_its_decisions_session(post, agent):
    decided = post("/actions/evaluate", {**REFUND_250, "context": {"session_id": "sess-9"}}, agent[1]).json()
    body = {"status": "executed", "request_id": decided["request_id"], "reported_by": "agent",
            "details": {"refund_id": "re_1"}}
    response = post("/outcomes/report", body, agent[1])
    outcome = AgentActivity.objects.get(kind=ActivityKind.OUTCOME)
    assert response.status_code == 200
    assert response.json() == {"outcome_id": f"out_{outcome.pk}", "request_id": decided["request_id"],
                               "status": "executed", "reported_by": "agent",
                               "reported_at": outcome.created_at.isoformat(), "details": {"refund_id": "re_1"}}
    assert (outcome.session, outcome.tool, outcome.status) == ("sess-9", "refund_payment", "executed")
    record = AuditRecord.objects.get(kind=AuditKind.AGENT_REPORT)
    assert (record.status, record.tool, record.actor) == ("executed", "refund_payment", "AI_AGENT_001")


def test_memory_events_are_stored_once_per_event_id(post, agent):
    events = [{"event_id": "evt_1", "seq": 1, "tool": "lookup_order", "status": "executed",
               "decision": {"outcome": "allowed"}, "arguments": {"order_id": "ord_1"}},
              {"event_id": "evt_2", "seq": 2, "tool": "delete_customer", "status": "blocked"}]
    first = post("/actions/memory/ingest", {"source": "adapter", "events": events}, agent[1])
    after_first = state()
    again = post("/actions/memory/ingest", {"source": "adapter", "events": [*events, {**events[0],
                                                                                      "event_id": "evt_3"}]},
                 agent[1])
    assert first.json() == {"accepted": 2, "total_stored": 2, "source": "adapter"}
    assert again.json() == {"accepted": 1, "total_stored": 3, "source": "adapter"}
    assert state()["activity"] == after_first["activity"] + 1
    stored = AgentActivity.objects.get(event_id="evt_1")
    assert stored.payload["event"]["arguments"] == {"order_id": "ord_1"}


def test_a_secret_sent_in_a_request_is_scrubbed_from_what_is_stored(post, agent):
    _, secret = agent
    body = {**REFUND_250, "context": {"note": f"my key is {secret}", "session_id": "s"}}
    post("/actions/evaluate", body, secret)
    assert secret not in json.dumps(AgentActivity.objects.get().payload)
    assert AgentActivity.objects.get().payload["request"]["context"]["note"] == "my key is [secret]"


# --- the document ------------------------------------------------------------------------------------------------


def test_openapi_document_lists_every_endpoint(client):
    document = client.get("/bighub/openapi.json").json()
    assert sorted((path, method) for path, item in document["paths"].items() for method in item) == [
        ("/bighub/actions/evaluate", "post"), ("/bighub/actions/evaluate/batch", "post"),
        ("/bighub/actions/memory/ingest", "post"), ("/bighub/approvals", "get"),
        ("/bighub/approvals/{request_id}", "get"), ("/bighub/approvals/{request_id}/resolve", "post"),
        ("/bighub/outcomes/report", "post"), ("/bighub/rules/dry-run", "post"), ("/bighub/rules/validate", "post"),
        ("/bighub/rules/validate/dry-run", "post")]
    assert document["components"]["securitySchemes"] == {
        "AgentKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}


def test_docs_page_loads_nothing_from_another_site(client):
    page = client.get("/bighub/docs").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources == ["/static/ninja/swagger-ui.css", "/static/ninja/favicon.svg", "/static/ninja/favicon.png",
                       "/static/ninja/swagger-ui-bundle.js", "/static/ninja/swagger-ui-init.js"]
    assert '"validatorUrl": null' in page
    assert client.get("/static/ninja/swagger-ui-bundle.js").status_code == 200


def test_state_helper_sees_a_successful_request(post, agent):
    """The refusal tests compare `state()`; it must move when a request does change something."""
    before = state()
    post("/actions/evaluate", REFUND_250, agent[1])
    # The session's run opens (an event), the decision (an event) raises a request, the run awaits it (an event);
    # each event has its audit record; what the policies were given is kept for replays.
    assert state() == {**before, "activity": before["activity"] + 1, "audit": before["audit"] + 3, "runs": 1,
                       "run_events": 3, "approvals": 1, "pending": 1, "decision_inputs": 1}
    assert timezone.now() - AgentKey.objects.get().last_used_at < timedelta(seconds=5)
