"""Reviewer groups of a tool or a domain: only their members decide its requests, and the queue and the nav
count show each reviewer only what they may decide (a tool's groups first, else its domain's, else everyone)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from approvals import reviewer_groups
from approvals import services as approvals
from approvals.models import ApprovalRequest
from governance.models import DomainDefault, ToolRegistration
from tests.factories import make_user, pending_approval

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_tools_registered")]


@pytest.fixture
def people():
    """rita is in the payments group, rob is a reviewer outside it; olivia's run waits on a refund."""
    rita, rob = make_user("rita", reviewer=True), make_user("rob", reviewer=True)
    rita.groups.add(Group.objects.create(name="payments"))
    return rita, rob, pending_approval(make_user("olivia"))


def _queue(client, user) -> tuple[int, int]:
    """(rows in the queue, the nav's pending count) as `user` sees them."""
    client.force_login(user)
    body = client.get(reverse("approvals:queue")).content.decode()
    count = int(re.search(r'<span id="pending-count"[^>]*>(\d+)</span>', body).group(1))
    return body.count("review</a>"), count


def _restrict_tool(name: str = "payments") -> None:
    ToolRegistration.objects.get(name="refund_payment").reviewer_groups.add(Group.objects.get(name=name))


def _restrict_domain(name: str = "payments") -> None:
    DomainDefault.objects.get(domain="customer_transactions").reviewer_groups.add(Group.objects.get(name=name))


def test_tool_without_reviewer_groups_is_in_every_reviewers_queue(client, people):
    rita, rob, _approval = people

    assert (_queue(client, rita), _queue(client, rob)) == ((1, 1), (1, 1))


def test_tool_reviewer_groups_leave_others_out_of_queue_and_nav_count(client, people):
    rita, rob, _approval = people
    _restrict_tool()

    assert (_queue(client, rita), _queue(client, rob)) == ((1, 1), (0, 0))


def test_domain_reviewer_groups_leave_others_out_of_queue_and_nav_count(client, people):
    rita, rob, _approval = people
    _restrict_domain()

    assert (_queue(client, rita), _queue(client, rob)) == ((1, 1), (0, 0))


def test_tool_reviewer_groups_come_before_the_domains(client, people):
    rita, rob, _approval = people
    rob.groups.add(Group.objects.create(name="refunds"))
    _restrict_domain("payments")
    _restrict_tool("refunds")

    assert (_queue(client, rita), _queue(client, rob)) == ((0, 0), (1, 1))


def test_remote_request_follows_the_domain_its_call_named(client, people):
    rita, rob, approval = people
    DomainDefault.objects.create(domain="billing").reviewer_groups.add(Group.objects.get(name="payments"))
    ApprovalRequest.objects.filter(pk=approval.pk).update(
        tool="issue_credit", decision={"source": "api", "domain": "billing", "actor": "AI_AGENT_001"})

    assert (_queue(client, rita), _queue(client, rob)) == ((1, 1), (0, 0))


def test_reviewer_outside_the_tools_groups_cannot_resolve(people):
    _rita, rob, approval = people
    _restrict_tool()

    with pytest.raises(approvals.NotAllowed) as caught:
        approvals.resolve_approval(approval_id=approval.pk, reviewer=rob, resolution="approved")

    assert str(caught.value) == ("only reviewers in the reviewer groups of refund_payment (or of its domain) may "
                                 "decide its requests")
    assert ApprovalRequest.objects.get(pk=approval.pk).status == "pending"


def test_reviewer_outside_the_domains_groups_gets_403_on_the_page(client, people):
    _rita, rob, approval = people
    _restrict_domain()
    client.force_login(rob)

    response = client.post(reverse("approvals:detail", args=[approval.pk]),
                           {"resolution": "denied", "comment": "not this one"})

    assert response.status_code == 403
    assert 'id="approve"' not in response.content.decode()
    assert ApprovalRequest.objects.get(pk=approval.pk).status == "pending"


def test_reviewer_in_the_tools_group_resolves(people):
    rita, _rob, approval = people
    _restrict_tool()

    result = approvals.resolve_approval(approval_id=approval.pk, reviewer=rita, resolution="approved")

    assert (result.status, result.resolved_by) == ("approved", rita)


def test_queue_leaves_out_what_the_reviewer_already_approved(client, people):
    rita, rob, approval = people
    ToolRegistration.objects.filter(name="refund_payment").update(approvals_needed=2)
    approvals.resolve_approval(approval_id=approval.pk, reviewer=rita, resolution="approved")

    assert (_queue(client, rita), _queue(client, rob)) == ((0, 0), (1, 1))


@pytest.mark.parametrize("rows", [2, 30])
def test_queue_query_count_with_reviewer_groups_does_not_grow_with_rows(reviewer, reviewer_page, rows):
    """The group rule is part of the rows' query and of the nav count's: the queue's count stays 9 (as without
    groups: the batch bar's match count and preset reasons are the 2 above the 7 of before)."""
    group = Group.objects.create(name="payments")
    ToolRegistration.objects.get(name="refund_payment").reviewer_groups.add(group)
    reviewer.groups.add(group)
    for i in range(rows):
        pending_approval(make_user(f"op{i}"), i)
    pending_approval(make_user("elsewhere"), 99)
    ToolRegistration.objects.filter(name="lookup_order").get().reviewer_groups.add(Group.objects.create(name="ops"))
    ApprovalRequest.objects.filter(call_id="call_99").update(tool="lookup_order")

    body = reviewer_page(reverse("approvals:queue"), queries=9)

    assert body.count("review</a>") == rows


def test_people_told_about_a_request_are_those_who_may_decide_it(people):
    _rita, _rob, approval = people
    approval = ApprovalRequest.objects.select_related("run").get(pk=approval.pk)
    everyone = [user.username for user in reviewer_groups.who_may_decide(approval)]
    _restrict_tool()

    assert (everyone, [user.username for user in reviewer_groups.who_may_decide(approval)]) == (
        ["rita", "rob"], ["rita"])
