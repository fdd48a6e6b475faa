"""The approvals endpoints through Django's test client: who sees which request, resolving through an approver
key under its user's rules, and every refusal (which changes nothing but its audit record)."""

from __future__ import annotations

import json
import time

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import Permission

from approvals.models import ApprovalRequest
from approvals.services import resolve_approval
from audit.models import AuditKind, AuditRecord
from governance.models import ToolRegistration
from tests.agents.support import api_state as state
from tests.factories import make_agent_key, make_user

pytestmark = pytest.mark.django_db

REFUND_250 = {"action": "refund_payment", "value": 250, "actor": "AI_AGENT_001", "domain": "customer_transactions"}


def refusals() -> list[tuple[str, str]]:
    return list(AuditRecord.objects.filter(kind=AuditKind.API_REFUSAL).order_by("id").values_list("status", "reason"))


@pytest.fixture
def get(client):
    """get(path, secret, **query): a GET of /bighub<path>."""

    def send(path: str, secret: str, **query):
        return client.get(f"/bighub{path}", query, HTTP_X_API_KEY=secret)

    return send


@pytest.fixture
def raised(post, agent):
    """raised(**changes): the request_id of a refund of 250 that now waits for a reviewer."""

    def raise_one(**changes) -> str:
        answer = post("/actions/evaluate", {**REFUND_250, **changes}, agent[1]).json()
        assert answer["result"] == "requires_approval"
        return answer["request_id"]

    return raise_one


@pytest.fixture
def approver(demo_tools_registered):
    """(key, secret) of an approver key for AI_AGENT_001 acting for alice, a reviewer."""
    return make_agent_key("ops-bot", role="approver", user=make_user("alice", reviewer=True))


# --- reading ----------------------------------------------------------------------------------------------------


def test_a_request_is_read_as_an_approval_item(get, agent, raised):
    request_id = raised(context={"session_id": "t-1", "arguments": {"order_id": "ord_1", "amount": 250}})
    approval = ApprovalRequest.objects.get()
    item = get(f"/approvals/{request_id}", agent[1]).json()
    assert item == {
        "request_id": str(approval.pk), "rule_id": "refund_payment-threshold",
        "validation_id": approval.decision["request_id"], "action": "refund_payment", "actor": "AI_AGENT_001",
        "domain": "customer_transactions", "value": 250.0, "target": "ord_1",
        "arguments": {"order_id": "ord_1", "amount": 250}, "arguments_digest": approval.arguments_digest,
        "reason": "refund_payment requires approval: value 250.00 is above 100 (policy refund_payment-threshold)",
        "policy_ids": ["refund_payment-threshold"], "status": "pending", "resolution": None, "outcome": None,
        "resolved_by": None, "resolved_at": None, "comment": "", "created_at": approval.requested_at.isoformat(),
        "expires_at": approval.expires_at.isoformat(), "session": "t-1", "run_id": str(approval.run_id),
        "approval_url": f"http://testserver/approvals/{approval.pk}/",
    }


def test_the_approval_url_is_built_on_the_public_url_when_one_is_set(post, agent, settings):
    settings.GOVERNANCE_PUBLIC_URL = "https://governance.example.com"
    answer = post("/actions/evaluate", REFUND_250, agent[1]).json()
    assert answer["approval_url"] == f"https://governance.example.com/approvals/{answer['request_id']}/"


def test_the_list_filters_by_status_newest_first(get, agent, raised, reviewer):
    first, second, third = raised(), raised(), raised()
    resolve_approval(approval_id=int(first), reviewer=reviewer, resolution="approved")
    resolve_approval(approval_id=int(second), reviewer=reviewer, resolution="denied")

    def ids(**query):
        return [item["request_id"] for item in get("/approvals", agent[1], **query).json()]

    assert (ids(), ids(status="approved"), ids(status="denied"), ids(status="rejected"), ids(status="all"),
            ids(status="all", limit=2)) == ([third], [first], [second], [second], [third, second, first],
                                            [third, second])


@pytest.mark.parametrize(("query", "loc"), [
    ({"status": "maybe"}, ["query", "status"]), ({"limit": 0}, ["query", "limit"]),
    ({"limit": 101}, ["query", "limit"]),
])
def test_a_list_filter_out_of_range_is_422(get, agent, query, loc):
    response = get("/approvals", agent[1], **query)
    assert (response.status_code, [e["loc"] for e in response.json()["detail"]]) == (422, [loc])


@pytest.mark.parametrize("wait", ["-1", "soon", "nan", "inf"])
def test_a_wait_that_is_not_a_number_of_seconds_is_422(get, agent, raised, wait):
    request_id = raised()
    response = get(f"/approvals/{request_id}", agent[1], wait=wait)
    assert (response.status_code, [e["loc"] for e in response.json()["detail"]]) == (422, [["query", "wait"]])


def test_a_wait_answers_pending_at_its_end_where_nothing_wraps_the_endpoint(get, agent, raised):
    request_id = raised()
    started = time.monotonic()
    response = get(f"/approvals/{request_id}", agent[1], wait="0.3")

    async def body() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    item = json.loads(async_to_sync(body)())
    assert 0.3 <= time.monotonic() - started < 1.5
    assert (response.status_code, response["Content-Type"], item["status"]) == (200, "application/json", "pending")


def test_a_resolved_request_is_answered_at_once_whatever_the_wait(get, agent, raised, reviewer):
    request_id = raised()
    resolve_approval(approval_id=int(request_id), reviewer=reviewer, resolution="denied", comment="no receipt")
    response = get(f"/approvals/{request_id}", agent[1], wait="30")
    assert (response.json()["status"], response.json()["comment"]) == ("denied", "no receipt")


@pytest.mark.parametrize("request_id", ["999", "abc", "1.0", "٣"])
def test_an_unknown_request_is_404_and_recorded(get, agent, raised, request_id):
    raised()
    before = state()
    response = get(f"/approvals/{request_id}", agent[1])
    assert (response.status_code, response.json()) == (404, {"detail": f"approval request {request_id!r} not found"})
    assert state() == before
    assert refusals() == [("404", f"approval request {request_id!r} not found")]


def test_an_agent_key_sees_only_its_actors_requests_in_its_domains(get, post, agent, raised):
    request_id = raised()
    other_actor = make_agent_key("other", actor="AI_AGENT_002")[1]
    other_domain = make_agent_key("billing", domains=("billing",))[1]
    same_actor = make_agent_key("billing-agent-2")[1]
    answers = {secret: (get(f"/approvals/{request_id}", secret).status_code,
                        [i["request_id"] for i in get("/approvals", secret, status="all").json()])
               for secret in (other_actor, other_domain, same_actor)}
    assert answers == {other_actor: (404, []), other_domain: (404, []), same_actor: (200, [request_id])}


def test_an_approver_key_sees_what_its_user_may_see(get, agent, raised):
    request_id = raised()
    operator_key = make_agent_key("op-bot", role="approver", user=make_user("olivia"))[1]
    assert (get(f"/approvals/{request_id}", operator_key).status_code,
            get("/approvals", operator_key).json()) == (404, [])  # olivia sees only the runs she started


# --- resolving --------------------------------------------------------------------------------------------------


def test_an_agent_keys_resolve_is_403_and_changes_nothing(post, agent, raised):
    request_id = raised()
    before = state()
    response = post(f"/approvals/{request_id}/resolve", {"resolution": "approved"}, agent[1])
    assert (response.status_code, response.json()) == (
        403, {"detail": "approvals are decided by reviewers in the dashboard"})
    assert state() == before
    assert refusals() == [("403", "approvals are decided by reviewers in the dashboard")]


def test_an_approver_key_resolves_as_its_user_and_the_audit_names_the_key(post, raised, approver,
                                                                          django_capture_on_commit_callbacks):
    request_id = raised(context={"session_id": "s-9"})
    with django_capture_on_commit_callbacks(execute=True):
        response = post(f"/approvals/{request_id}/resolve", {"resolution": "approved", "comment": "ok"}, approver[1])
    assert (response.status_code, response.json()["status"], response.json()["resolved_by"]) == (200, "approved",
                                                                                                 "alice")
    record = AuditRecord.objects.get(kind=AuditKind.APPROVAL)
    assert (record.reviewer, record.actor, record.domain, record.approval_id,
            json.loads(record.details)["via"]) == (
        "alice", "AI_AGENT_001", "customer_transactions", int(request_id),
        f"API key ops-bot (gd_live_{approver[0].prefix}_…)")
    run = ApprovalRequest.objects.get().run
    assert list(run.events.values_list("type", "payload__status")) == [
        ("status", "running"), ("remote_decision", "requires_approval"), ("status", "awaiting_approval"),
        ("approval_resolved", "approved"), ("status", "running")]


def test_resolving_again_the_same_way_answers_the_resolution_and_the_other_way_is_409(post, raised, approver):
    request_id = raised()
    first = post(f"/approvals/{request_id}/resolve", {"resolution": "rejected", "comment": "no"}, approver[1]).json()
    before = state()
    again = post(f"/approvals/{request_id}/resolve", {"resolution": "denied"}, approver[1])
    other = post(f"/approvals/{request_id}/resolve", {"resolution": "approved"}, approver[1])
    assert (first["status"], again.status_code, again.json()) == ("denied", 200, first)
    assert (other.status_code, other.json()["detail"].startswith("Already denied by alice at ")) == (409, True)
    assert state() == before
    assert [status for status, _ in refusals()] == ["409"]


def test_an_approver_keys_vote_toward_a_quorum_leaves_it_pending_and_a_second_is_409(post, raised, approver):
    ToolRegistration.objects.filter(name="refund_payment").update(approvals_needed=2)
    request_id = raised()
    first = post(f"/approvals/{request_id}/resolve", {"resolution": "approved"}, approver[1])
    again = post(f"/approvals/{request_id}/resolve", {"resolution": "approved"}, approver[1])
    assert (first.status_code, first.json()["status"]) == (200, "pending")
    assert (again.status_code, again.json()) == (409, {"detail": "You have already approved this request (1 of 2 "
                                                                 "approvals: alice); another reviewer must decide it."})
    assert ApprovalRequest.objects.get().status == "pending"


def test_an_approver_whose_user_is_no_reviewer_is_403(post, raised, demo_tools_registered):
    request_id = raised()
    user = make_user("victor")
    user.user_permissions.add(Permission.objects.get(codename="view_run"))  # sees every run, resolves none
    secret = make_agent_key("viewer-bot", role="approver", user=user)[1]
    before = state()
    response = post(f"/approvals/{request_id}/resolve", {"resolution": "approved"}, secret)
    assert (response.status_code, response.json()) == (403, {"detail": "only members of the reviewers group may "
                                                                        "approve or deny"})
    assert state() == before


def test_an_approver_key_cannot_approve_the_calls_it_raised_itself(post, approver):
    """Its calls' session counts as started by its user: separation of duties holds through the API too."""
    request_id = post("/actions/evaluate", REFUND_250, approver[1]).json()["request_id"]
    response = post(f"/approvals/{request_id}/resolve", {"resolution": "approved"}, approver[1])
    assert (response.status_code, response.json()) == (
        403, {"detail": "you started this run, so someone else must review its requests"})
    assert ApprovalRequest.objects.get().status == "pending"


def test_a_resolve_with_an_idempotency_key_is_answered_again_and_recorded_once(post, raised, approver):
    request_id = raised()
    first = post(f"/approvals/{request_id}/resolve", {"resolution": "approved"}, approver[1],
                 HTTP_IDEMPOTENCY_KEY="r-1")
    again = post(f"/approvals/{request_id}/resolve", {"resolution": "approved"}, approver[1],
                 HTTP_IDEMPOTENCY_KEY="r-1")
    assert (again.status_code, again.json()) == (200, first.json())
    assert AuditRecord.objects.filter(kind=AuditKind.APPROVAL).count() == 1


@pytest.mark.parametrize(("body", "loc"), [
    ({"resolution": "maybe"}, ["body", "resolution"]), ({}, ["body", "resolution"]),
    ({"resolution": "approved", "comment": "x" * 2001}, ["body", "comment"]),
])
def test_a_resolve_body_out_of_shape_is_422(post, raised, approver, body, loc):
    request_id = raised()
    response = post(f"/approvals/{request_id}/resolve", body, approver[1])
    assert (response.status_code, [e["loc"] for e in response.json()["detail"]]) == (422, [loc])
    assert ApprovalRequest.objects.get().status == "pending"
