"""Shadow policies (governance/shadow.py): evaluated beside the active set, never deciding, their differences
recorded and counted on the policy's admin page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from governance.assembly import embedded_engine
from governance.decisions import ActionRequest
from governance.models import Pause, PauseScope, Policy, ShadowDifference
from tests.factories import start_run_now
from tests.support import demo_tools

pytestmark = pytest.mark.django_db

FORBID_LOOKUPS = 'forbid(principal, action == Action::"lookup_order", resource);'
PERMIT_LOOKUPS = 'permit(principal, action == Action::"lookup_order", resource);'


def shadow_policy(name: str, cedar: str) -> Policy:
    return Policy.objects.create(name=name, cedar=cedar, mode=Policy.Mode.SHADOW)


def test_shadow_forbid_leaves_the_decision_and_records_a_difference_linked_to_the_call(
        operator, demo_tools_registered):
    policy = shadow_policy("no-lookups", FORBID_LOOKUPS)

    run = start_run_now(operator, "Look up order ord_100", tools=("lookup_order",))

    step = run.events.get(type="execution_event").payload
    assert (step["tool"], step["status"]) == ("lookup_order", "executed")
    assert demo_tools.EXECUTIONS == [{"tool": "lookup_order", "order_id": "ord_100"}]
    assert list(ShadowDifference.objects.values_list(
        "policy", "tool", "actor", "domain", "run_id", "call_id", "real_outcome", "shadow_outcome")) == [
        (policy.pk, "lookup_order", "dashboard", "customer_transactions", run.pk, step["call_id"],
         "allowed", "blocked")]


def test_shadow_policy_that_agrees_records_nothing(operator, demo_tools_registered):
    shadow_policy("lookups-too", PERMIT_LOOKUPS)

    run = start_run_now(operator, "Look up order ord_100", tools=("lookup_order",))

    assert run.events.get(type="execution_event").payload["status"] == "executed"
    assert ShadowDifference.objects.count() == 0


def test_a_shadow_permit_does_not_allow_what_the_active_set_blocks(demo_tools_registered):
    Policy.objects.filter(name="demo").update(cedar='forbid(principal, action == Action::"delete_customer", resource);')
    policy = shadow_policy("lookups-allowed", PERMIT_LOOKUPS)
    action = ActionRequest(tool="lookup_order", arguments={"order_id": "ord_1"}, actor="dashboard",
                           domain="customer_transactions", call_id="call_1")

    decision = embedded_engine().evaluate(action)

    assert decision.outcome == "blocked"  # no active permit: the domain's default
    assert list(ShadowDifference.objects.values_list("policy", "call_id", "request_id", "real_outcome",
                                                     "shadow_outcome")) == [
        (policy.pk, "call_1", decision.request_id, "blocked", "allowed")]


def test_without_shadow_policies_a_decision_reads_only_the_pauses(demo_tools_registered, django_assert_num_queries):
    gate = embedded_engine()
    action = ActionRequest(tool="lookup_order", arguments={"order_id": "ord_1"}, actor="dashboard",
                           domain="customer_transactions")

    with django_assert_num_queries(1):  # the active pauses covering the call: nothing for shadows
        assert gate.evaluate(action).outcome == "allowed"


def test_a_paused_call_records_no_difference(demo_tools_registered):
    Pause.objects.create(scope=PauseScope.TOOL, value="lookup_order", paused_by_name="rita")
    shadow_policy("no-lookups", FORBID_LOOKUPS)
    action = ActionRequest(tool="lookup_order", arguments={"order_id": "ord_1"}, actor="dashboard",
                           domain="customer_transactions")

    assert embedded_engine().evaluate(action).outcome == "blocked"
    assert ShadowDifference.objects.count() == 0


def _differences(policy: Policy, real: str, shadow: str, n: int, *, run_id=None) -> None:
    ShadowDifference.objects.bulk_create(
        ShadowDifference(policy=policy, tool="refund_payment", actor="dashboard", domain="customer_transactions",
                         run_id=run_id, call_id=f"call_{real}_{i}", real_outcome=real, shadow_outcome=shadow)
        for i in range(n))


def test_the_policy_page_counts_its_differences_by_outcome(admin_client, operator, demo_tools_registered):
    policy = shadow_policy("strict-refunds", 'forbid(principal, action == Action::"refund_payment", resource);')
    run = start_run_now(operator, "Look up order ord_100", tools=("lookup_order",))
    _differences(policy, "allowed", "blocked", 3, run_id=run.pk)
    _differences(policy, "requires_approval", "blocked", 1)
    other = shadow_policy("other", FORBID_LOOKUPS)
    _differences(other, "allowed", "blocked", 5)

    page = admin_client.get(reverse("admin:governance_policy_change", args=[policy.pk])).content.decode()

    listed = reverse("admin:governance_shadowdifference_changelist")
    assert (f'<p class="shadow-count"><a href="{listed}?policy__id__exact={policy.pk}&amp;real_outcome=allowed'
            f'&amp;shadow_outcome=blocked">allowed → blocked: 3</a></p>'
            f'<p class="shadow-count"><a href="{listed}?policy__id__exact={policy.pk}&amp;'
            f'real_outcome=requires_approval&amp;shadow_outcome=blocked">requires approval → blocked: 1</a></p>'
            ) in page

    changelist = admin_client.get(f"{listed}?policy__id__exact={policy.pk}&real_outcome=allowed"
                                  "&shadow_outcome=blocked")
    assert changelist.status_code == 200
    assert changelist.context["cl"].result_count == 3
    assert changelist.content.decode().count(f'href="{run.get_absolute_url()}"') == 3


def test_a_policy_without_differences_says_so(admin_client, demo_tools_registered):
    policy = shadow_policy("quiet", FORBID_LOOKUPS)
    page = admin_client.get(reverse("admin:governance_policy_change", args=[policy.pk])).content.decode()
    assert "None recorded yet." in page
