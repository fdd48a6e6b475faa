"""A remote agent's session as a run: one run per key and session, its timeline (every decision, outcome report,
memory ingest and approval, each audited once), its status, who sees it, and cancelling it from its page."""

from __future__ import annotations

import json
import re

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.urls import reverse

from agents.models import ActivityKind, AgentActivity, RemoteSession
from approvals.models import ApprovalRequest
from approvals.services import resolve_approval
from audit.models import AuditKind, AuditRecord
from governance import permissions
from runs.models import Run, RunOrigin, RunStatus
from tests.factories import make_agent_key, make_user

pytestmark = pytest.mark.django_db

ACTOR, DOMAIN = "AI_AGENT_001", "customer_transactions"
REFUND_250 = {"action": "refund_payment", "value": 250, "actor": ACTOR, "domain": DOMAIN}
LOOKUP = {"action": "lookup_order", "actor": ACTOR, "domain": DOMAIN}


def timeline(run: Run) -> list[tuple[str, str]]:
    return [(e.type, e.payload.get("status", "")) for e in run.events.order_by("id")]


def test_the_calls_of_one_session_form_one_remote_run(post, agent):
    key, secret = agent
    for context in ({"session_id": "a"}, {"session_id": "a"}, {"trajectory_id": "b"}, None, None):
        assert post("/actions/evaluate", {**LOOKUP, "context": context}, secret).status_code == 200
    runs = Run.objects.order_by("created_at")
    daily = f"{key.prefix}:{runs[2].created_at.date().isoformat()}"
    assert [(r.origin, r.status, r.agent, r.actor, r.session, r.started_by_id) for r in runs] == [
        (RunOrigin.REMOTE, RunStatus.RUNNING, "billing-agent", ACTOR, "a", None),
        (RunOrigin.REMOTE, RunStatus.RUNNING, "billing-agent", ACTOR, "b", None),
        (RunOrigin.REMOTE, RunStatus.RUNNING, "billing-agent", ACTOR, daily, None)]
    assert [len(timeline(r)) for r in runs] == [3, 2, 3]  # opened, then one decision per call
    assert list(RemoteSession.objects.order_by("pk").values_list("session", "run")) == [
        ("a", runs[0].pk), ("b", runs[1].pk), (daily, runs[2].pk)]


def test_another_key_of_the_same_session_name_has_its_own_run(post, agent):
    other = make_agent_key("billing-agent-2")[1]
    post("/actions/evaluate", {**LOOKUP, "context": {"session_id": "a"}}, agent[1])
    post("/actions/evaluate", {**LOOKUP, "context": {"session_id": "a"}}, other)
    assert list(Run.objects.order_by("created_at").values_list("agent", "session")) == [
        ("billing-agent", "a"), ("billing-agent-2", "a")]


def test_decisions_outcomes_and_memory_are_the_timeline_each_with_one_audit_record(post, agent):
    secret = agent[1]
    decided = post("/actions/evaluate", {**LOOKUP, "context": {"session_id": "s"}}, secret).json()
    post("/outcomes/report", {"status": "executed", "request_id": decided["request_id"]}, secret)
    post("/actions/memory/ingest", {"source": "adapter", "events": [
        {"event_id": "e1", "tool": "lookup_order", "status": "executed", "request_id": decided["request_id"]}]}, secret)
    run = Run.objects.get()
    assert timeline(run) == [("status", "running"), ("remote_decision", "allowed"), ("remote_outcome", "executed"),
                             ("remote_memory", "ingested")]
    records = AuditRecord.objects.exclude(kind=AuditKind.CONFIGURATION).order_by("id")
    assert [(r.kind, r.status, r.run_id) for r in records] == [
        (AuditKind.RUN_STATUS, "running", run.pk), (AuditKind.DECISION, "allowed", run.pk),
        (AuditKind.AGENT_REPORT, "executed", run.pk), (AuditKind.AGENT_REPORT, "ingested", run.pk)]
    assert (records[0].actor, json.loads(records[1].details)["key"]) == (ACTOR, "billing-agent")


def test_memory_without_a_known_decision_joins_the_keys_session_of_the_day(post, agent):
    key, secret = agent
    post("/actions/memory/ingest", {"source": "adapter", "events": [{"event_id": "e1"}, {"event_id": "e2"}]}, secret)
    run = Run.objects.get()
    assert (run.session.startswith(f"{key.prefix}:"), timeline(run)) == (
        True, [("status", "running"), ("remote_memory", "ingested")])
    assert run.events.last().payload["details"]["event_ids"] == ["e1", "e2"]


def test_an_outcome_of_a_decision_recorded_before_sessions_had_runs_opens_its_run(post, agent):
    key, secret = agent
    AgentActivity.objects.create(key=key, kind=ActivityKind.DECISION, session="old", actor=ACTOR, domain=DOMAIN,
                                 tool="lookup_order", status="allowed", request_id="r-old", payload={})
    assert post("/outcomes/report", {"status": "executed", "request_id": "r-old"}, secret).status_code == 200
    run = Run.objects.get()
    assert (run.session, timeline(run)) == ("old", [("status", "running"), ("remote_outcome", "executed")])


def test_a_call_that_needs_approval_raises_a_request_the_run_awaits(post, agent):
    answer = post("/actions/evaluate", {**REFUND_250, "target": "ord_7", "context": {"session_id": "s"}},
                  agent[1]).json()
    approval = ApprovalRequest.objects.get()
    run = Run.objects.get()
    assert (answer["request_id"], approval.run_id, approval.tool, approval.arguments, run.status) == (
        str(approval.pk), run.pk, "refund_payment", {"value": 250.0, "target": "ord_7"},
        RunStatus.AWAITING_APPROVAL)
    assert timeline(run) == [("status", "running"), ("remote_decision", "requires_approval"),
                             ("status", "awaiting_approval")]
    assert run.events.get(seq=2).payload["approval_id"] == approval.pk


def test_the_request_is_bound_to_a_digest_of_what_the_call_names(post, agent):
    arguments = {"order_id": "ord_7", "amount": 250}
    post("/actions/evaluate", {**REFUND_250, "context": {"arguments": arguments}}, agent[1])
    post("/actions/evaluate", {**REFUND_250, "context": {"arguments": {**arguments, "order_id": "ord_8"}}}, agent[1])
    post("/actions/evaluate", {**REFUND_250, "context": {"arguments": arguments}}, agent[1])
    first, other, same = ApprovalRequest.objects.order_by("pk").values_list("arguments_digest", flat=True)
    assert (first == same, first == other) == (True, False)


def test_reviewers_see_redacted_arguments_of_a_remote_request(post, agent, client, reviewer):
    from governance.models import ToolRegistration

    ToolRegistration.objects.filter(name="refund_payment").update(redact_fields="order_id")
    post("/actions/evaluate", {**REFUND_250, "context": {"arguments": {"order_id": "ord_7", "amount": 250}}}, agent[1])
    approval = ApprovalRequest.objects.get()
    client.force_login(reviewer)
    page = client.get(reverse("approvals:detail", args=[approval.pk])).content.decode()
    assert approval.arguments == {"order_id": "[redacted]", "amount": 250}
    assert ('agent key <strong>billing-agent</strong> <span class="badge remote">remote</span>, acting as AI_AGENT_001'
            in page,
            "ord_7" in page, "[redacted]" in page) == (True, False, True)


def test_the_run_awaits_until_none_of_its_calls_waits(post, agent, reviewer, django_capture_on_commit_callbacks):
    post("/actions/evaluate/batch", {"actions": [REFUND_250, {**REFUND_250, "value": 300}], "actor": ACTOR,
                                     "domain": DOMAIN}, agent[1])
    first, second = ApprovalRequest.objects.order_by("pk")
    run = Run.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        resolve_approval(approval=first, reviewer=reviewer, resolution="approved")
    run.refresh_from_db()
    assert run.status == RunStatus.AWAITING_APPROVAL
    with django_capture_on_commit_callbacks(execute=True):
        resolve_approval(approval=second, reviewer=reviewer, resolution="denied")
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING
    assert timeline(run) == [
        ("status", "running"), ("remote_decision", "requires_approval"), ("status", "awaiting_approval"),
        ("remote_decision", "requires_approval"), ("approval_resolved", "approved"), ("approval_resolved", "denied"),
        ("status", "running")]


def test_cancelling_a_session_denies_its_requests_and_blocks_its_later_calls(post, agent, client, reviewer):
    post("/actions/evaluate", {**REFUND_250, "context": {"session_id": "s"}}, agent[1])
    run = Run.objects.get()
    client.force_login(reviewer)
    page = client.get(run.get_absolute_url()).content.decode()
    assert re.search(r'id="cancel-run">Cancel session<', page)
    client.post(reverse("runs:cancel", args=[run.pk]), {"confirm": "yes"})
    later = post("/actions/evaluate", {**LOOKUP, "context": {"session_id": "s"}}, agent[1]).json()
    dry = post("/actions/evaluate", {**LOOKUP, "dry_run": True, "context": {"session_id": "s"}}, agent[1]).json()
    elsewhere = post("/actions/evaluate", {**LOOKUP, "context": {"session_id": "t"}}, agent[1]).json()
    run.refresh_from_db()
    assert (run.status, run.cancelled_by) == (RunStatus.CANCELLED, reviewer)
    assert ApprovalRequest.objects.get().outcome == "denied because rita cancelled the run"
    assert [(a["result"], a["reason"]) for a in (later, dry)] == [("blocked", "session cancelled by rita")] * 2
    assert elsewhere["result"] == "allowed"
    assert timeline(run)[-3:] == [("execution_event", "denied"), ("status", "cancelled"),
                                  ("remote_decision", "blocked")]


def test_a_remote_run_is_seen_by_reviewers_and_whoever_made_its_key(post, demo_tools_registered, client):
    maker, operator, reviewer = make_user("mara"), make_user("olivia"), make_user("rita", reviewer=True)
    secret = make_agent_key(created_by=maker)[1]
    request_id = post("/actions/evaluate", REFUND_250, secret).json()["request_id"]
    run, approval = Run.objects.get(), ApprovalRequest.objects.get(pk=request_id)
    seen = {}
    for user in (maker, operator, reviewer):
        client.force_login(user)
        seen[user.username] = (client.get(run.get_absolute_url()).status_code,
                               str(run.pk)[:8] in client.get(reverse("runs:list")).content.decode(),
                               permissions.may_resolve(user, approval))
    assert seen == {"mara": (200, True, False), "olivia": (404, False, False), "rita": (200, True, True)}


def test_the_runs_list_shows_remote_runs_with_their_agent_and_filters_by_origin(post, agent, client, reviewer):
    from runs import commands

    commands.start_run(user=reviewer, prompt="Look up ord_1", model="gpt-4.1", tool_names=["lookup_order"])
    post("/actions/evaluate", {**LOOKUP, "context": {"session_id": "ticket-4711"}}, agent[1])
    client.force_login(reviewer)
    everything = client.get(reverse("runs:list")).content.decode()
    remote = client.get(reverse("runs:list"), {"origin": "remote"}).content.decode()
    dashboard = client.get(reverse("runs:list"), {"origin": "dashboard"}).content.decode()
    bogus = client.get(reverse("runs:list"), {"origin": "elsewhere"})
    badge = '<span class="badge remote">remote</span> session ticket-4711</td>\n      <td>billing-agent</td>'
    assert [(badge in page, "Look up ord_1" in page) for page in (everything, remote, dashboard)] == [
        (True, True), (True, False), (False, True)]
    assert 'ws-connect="/ws/dashboard/?show=runs&amp;origin=remote"' in remote
    assert (bogus.status_code, "Select a valid choice. elsewhere is not one of the available choices."
            in bogus.content.decode()) == (400, True)


@pytest.mark.django_db(transaction=True)
async def test_the_run_page_shows_the_sessions_calls_live(post, agent, reviewer):
    from tests.runs.test_consumers import run_page

    await sync_to_async(post)("/actions/evaluate", {**LOOKUP, "context": {"session_id": "live"}}, agent[1])
    run = await sync_to_async(Run.objects.get)()
    client = await sync_to_async(Client)()
    await sync_to_async(client.force_login)(reviewer)
    comm, first = await run_page(run, client)
    assert "remote session live of billing-agent" in first
    await sync_to_async(post)("/actions/evaluate", {**REFUND_250, "context": {"session_id": "live"}}, agent[1])
    update = await comm.receive_from(timeout=5)
    assert ('<strong class="tool">refund_payment</strong>' in update, "asked by billing-agent" in update,
            'data-status="awaiting_approval"' in update) == (True, True, True)
    await comm.disconnect()
