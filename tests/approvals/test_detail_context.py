"""The approval page gives a reviewer what they need to decide (approvals/context.py), and after a
decision sends them on to the next request they may decide."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from approvals.models import ApprovalRequest
from approvals.services import arguments_digest, resolve_approval
from governance import pauses
from governance.models import Policy
from runs.models import Run, RunEvent, RunOrigin, RunStatus
from tests.factories import make_user, pending_approval, start_run_now

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_tools_registered")]


def _detail(approval) -> str:
    return reverse("approvals:detail", args=[approval.pk])


def earlier_request(user, *, order_id: str, status: str, reviewer=None, comment: str = "") -> ApprovalRequest:
    """A request for a refund of `order_id` already resolved as `status` (by `reviewer`)."""
    approval = pending_approval(user, 900 + ApprovalRequest.objects.count())
    arguments = {"order_id": order_id, "amount": 250}
    ApprovalRequest.objects.filter(pk=approval.pk).update(
        arguments=arguments, arguments_digest=arguments_digest("refund_payment", arguments), status=status,
        resolved_by=reviewer, cause="review", comment=comment)
    return ApprovalRequest.objects.get(pk=approval.pk)


def test_page_shows_prompt_starter_other_calls_policy_and_countdown(client, operator, reviewer):
    run = start_run_now(operator, "Look up ord_7 and refund ord_7 for 250 and delete customer cus_9")
    approval = ApprovalRequest.objects.get(run=run)
    client.force_login(reviewer)

    response = client.get(_detail(approval))

    context = response.context
    assert context["run"].prompt == "Look up ord_7 and refund ord_7 for 250 and delete customer cus_9"
    assert [(c.tool, c.status) for c in context["state"].calls] == [("lookup_order", "executed"),
                                                                       ("delete_customer", "blocked")]
    assert context["policies"] == [("refund_payment-threshold", "")]  # the tool's threshold, not a Cedar policy
    assert (context["target_name"], context["target"]) == ("order_id", "ord_7")
    assert context["can_resolve"] is True
    body = response.content.decode()
    assert "Started by <strong>olivia</strong>" in body
    assert f'datetime="{approval.expires_at.isoformat()}"' in body
    assert 'id="approve"' in body


def test_earlier_requests_for_the_same_target_are_listed_with_their_outcomes(client, operator, reviewer):
    boss = make_user("bob", reviewer=True)
    denied = earlier_request(operator, order_id="ord_7", status="denied", reviewer=boss, comment="duplicate")
    approved = earlier_request(operator, order_id="ord_7", status="approved", reviewer=boss)
    earlier_request(operator, order_id="ord_8", status="approved", reviewer=boss)  # another order
    current = pending_approval(operator, 7)  # a refund of ord_7
    client.force_login(reviewer)

    response = client.get(_detail(current))

    assert response.context["earlier"] == [approved, denied]
    body = response.content.decode()
    assert "denied by bob: duplicate" in body
    assert "approved by bob" in body


def test_remote_request_names_the_agent_key_and_matches_earlier_ones_by_target(client, reviewer):
    owner = make_user("kim")
    run = Run.objects.create(origin=RunOrigin.REMOTE, agent="billing-agent", actor="AI_AGENT_001",
                             session="s-1", started_by=owner, prompt="", model="",
                             status=RunStatus.AWAITING_APPROVAL)

    def remote(call_id: str, target: str, status: str = "pending") -> ApprovalRequest:
        return ApprovalRequest.objects.create(
            run=run, call_id=call_id, tool="wire_money", arguments={"value": 900, "target": target},
            arguments_digest=call_id, status=status, reason="wire above 500 needs review",
            decision={"source": "api", "key": "billing-agent", "target": target})

    before = remote("r1", "acct-1", status="expired")
    remote("r2", "acct-2", status="expired")
    current = remote("r3", "acct-1")
    client.force_login(reviewer)

    response = client.get(_detail(current))

    assert response.context["earlier"] == [before]
    assert "Asked by agent key <strong>billing-agent</strong>" in response.content.decode()
    assert "the key answers to kim" in response.content.decode()


@pytest.mark.parametrize("rows", [2, 30])
def test_page_query_count_does_not_grow_with_calls_or_earlier_requests(reviewer_page, operator, rows):
    """Rows are the run's other calls and earlier requests for the same order: neither costs a query each."""
    for _ in range(rows):
        earlier_request(operator, order_id="ord_7", status="denied")
    current = pending_approval(operator, 7)
    Policy.objects.filter(name="demo").update(description="Refunds above 100 need a reviewer.")
    ApprovalRequest.objects.filter(pk=current.pk).update(policy_ids=["demo"])
    for seq in range(1, rows + 1):
        RunEvent.objects.create(run=current.run, seq=seq, type="execution_event", payload={
            "tool": "lookup_order", "call_id": f"c{seq}", "status": "executed", "reason": "allowed"})
    # session, user, user and group permissions, the request with its run and people, the run's last event,
    # its call events, the tool's target argument, the earlier requests, the policies, the deny reasons,
    # the nav count, who may decide it (reviewer groups, quorum votes: approvals/quorum.py), the requests
    # before and after it in the queue (where j and k go)
    body = reviewer_page(_detail(current), queries=14)
    assert body.count("<td><strong>lookup_order</strong></td>") == rows
    assert body.count("denied</span>") == min(rows, 10)
    assert "policy <strong>demo</strong>: Refunds above 100 need a reviewer." in body


def test_after_deciding_the_reviewer_goes_to_the_next_request_they_may_decide(client, operator, reviewer):
    mine = pending_approval(reviewer, 1)  # rita started this one: she may not decide it
    following = pending_approval(operator, 2)
    current = pending_approval(operator, 3)
    client.force_login(reviewer)

    response = client.post(_detail(current), {"resolution": "denied", "comment": "no"})

    assert response.status_code == 302
    assert response.url == _detail(following)
    assert ApprovalRequest.objects.get(pk=mine.pk).status == "pending"


def test_after_the_last_decision_the_reviewer_goes_to_the_queue_with_a_message(client, operator, reviewer):
    current = pending_approval(operator, 3)
    client.force_login(reviewer)

    response = client.post(_detail(current), {"resolution": "denied", "comment": "not this one"}, follow=True)

    assert response.redirect_chain == [(reverse("approvals:queue"), 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "refund_payment: denied.", "Nothing else is waiting for your decision."]


def test_page_shows_the_approved_call_ran_after_the_run_resumed(client, operator, reviewer,
                                                              django_capture_on_commit_callbacks):
    run = start_run_now(operator, "Refund order ord_7 for 250", tools=("refund_payment",))
    approval = ApprovalRequest.objects.get(run=run)
    with django_capture_on_commit_callbacks(execute=True):
        resolve_approval(approval=approval, reviewer=reviewer, resolution="approved")
    client.force_login(reviewer)

    response = client.get(_detail(approval))

    assert response.context["state"].after_resume == "The call ran."
    assert "re_ord_7" in response.content.decode()
    assert 'id="approve"' not in response.content.decode()


def test_page_shows_the_approved_call_was_blocked_on_recheck(client, operator, reviewer,
                                                             django_capture_on_commit_callbacks):
    run = start_run_now(operator, "Refund order ord_7 for 250", tools=("refund_payment",))
    approval = ApprovalRequest.objects.get(run=run)
    reviewer.user_permissions.add(Permission.objects.get(codename="pause_decisions"))
    pauses.pause(scope="tool", value="refund_payment", by=User.objects.get(pk=reviewer.pk))  # permissions re-read
    with django_capture_on_commit_callbacks(execute=True):
        resolve_approval(approval=approval, reviewer=reviewer, resolution="approved")
    client.force_login(reviewer)

    state = client.get(_detail(approval)).context["state"]

    assert state.after_resume.startswith("Blocked when re-checked before running: ")
    assert "tool refund_payment paused by rita" in state.after_resume


def test_queue_title_leads_with_the_pending_count(client, operator, reviewer):
    for n in range(3):
        pending_approval(operator, n)
    client.force_login(reviewer)

    body = client.get(reverse("approvals:queue")).content.decode()

    assert "<title>(3) Approvals · Governance dashboard</title>" in body
    assert ('aria-live="polite" hx-swap-oob="innerHTML">3 requests waiting for review; the newest: '
            f'refund_payment, request {ApprovalRequest.objects.latest("requested_at").pk}.</p>') in body


def test_a_redacted_target_matches_only_the_same_call(client, operator, reviewer):
    """Every redacted order reads "[redacted]": they are not one target, so only the same call (digest) counts."""
    def redacted(n: int, amount: int) -> ApprovalRequest:
        approval = pending_approval(operator, n)
        ApprovalRequest.objects.filter(pk=approval.pk).update(
            arguments={"order_id": "[redacted]", "amount": amount}, arguments_digest=f"digest-{amount}")
        return ApprovalRequest.objects.get(pk=approval.pk)

    same_call = redacted(1, 250)
    redacted(2, 300)
    current = redacted(3, 250)
    client.force_login(reviewer)

    context = client.get(_detail(current)).context

    assert (context["target_name"], context["earlier"]) == ("", [same_call])
