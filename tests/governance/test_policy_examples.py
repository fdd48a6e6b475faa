"""Policy examples (governance/policy_examples.py): calls the policy set must decide in a given way, checked
against the active set or a draft, on every admin save of the set, when an example is saved, and by
`manage.py check_policies`."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from approvals.demo_data import seed_demo
from governance import policy_examples, versions
from governance.models import Policy, PolicyExample, PolicySetVersion, ToolRegistration
from tests.factories import DEMO_CEDAR, register_demo_tools

pytestmark = pytest.mark.django_db

LOOKUP_BLOCKED = ("example “lookups are allowed” must get allowed but gets blocked (no policy matches lookup_order "
                  "in domain 'customer_transactions'; the domain default is blocked)")


def example(name: str, tool: str, arguments: dict, expected: str, **fields) -> PolicyExample:
    made = PolicyExample(name=name, tool=tool, arguments=arguments, expected=expected, **fields)
    made.full_clean()
    made.save()
    return made


@pytest.fixture
def demo_set(db):
    register_demo_tools()
    example("small refund runs", "refund_payment", {"order_id": "ord_1", "amount": 40}, "allowed")
    example("refund above 100 asks a reviewer", "refund_payment", {"order_id": "ord_2", "amount": 250},
            "requires_approval")
    example("lookups are allowed", "lookup_order", {"order_id": "ord_3"}, "allowed")
    example("agents never delete customers", "delete_customer", {"customer_id": "cus_42"}, "blocked")


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("rita", password="pw-rita")


def version_count() -> int:
    return PolicySetVersion.objects.count()


# -- the service ----------------------------------------------------------------------------------------------


def test_failures_none_when_the_active_set_decides_every_example(demo_set):
    assert policy_examples.failures() == []


def test_failures_name_the_example_what_it_gets_and_what_it_must_get(demo_set):
    PolicyExample.objects.filter(name="agents never delete customers").update(expected="allowed")
    [failure] = policy_examples.failures()
    assert (failure.example, failure.expected, failure.got) == ("agents never delete customers", "allowed", "blocked")
    assert str(failure) == ("example “agents never delete customers” must get allowed but gets blocked "
                            "(delete_customer is blocked: forbidden (policy demo#2))")


def test_failures_of_a_draft_leave_the_active_set_as_it_is(demo_set):
    tool = ToolRegistration.objects.get(name="refund_payment")
    tool.approve_above = Decimal("1000")
    draft = versions.draft(saving=tool)
    assert [(f.example, f.got) for f in policy_examples.failures(policy_set=draft)] == [
        ("refund above 100 asks a reviewer", "allowed")]
    assert policy_examples.failures() == []
    assert ToolRegistration.objects.get(name="refund_payment").approve_above == Decimal("100")


def test_failures_of_a_draft_without_a_policy(demo_set):
    draft = versions.draft(deleting=Policy.objects.get(name="demo"))
    assert [str(f) for f in policy_examples.failures(policy_set=draft)] == [LOOKUP_BLOCKED]


def test_a_shadow_policy_does_not_decide_the_examples(demo_set):
    Policy.objects.create(name="shadow-no-lookups", mode="shadow",
                          cedar='forbid(principal, action == Action::"lookup_order", resource);\n')
    assert policy_examples.failures() == []


def test_example_actor_and_domain_default_to_the_tools(demo_set):
    Policy.objects.create(name="no-bots", cedar='forbid(principal == Agent::"bot", action, resource);\n'
                                                 'forbid(principal, action, resource == Domain::"payments");')
    example("bots look up nothing", "lookup_order", {"order_id": "ord_4"}, "blocked", actor="bot")
    example("no lookups in payments", "lookup_order", {"order_id": "ord_5"}, "blocked", domain="payments")
    assert policy_examples.failures() == []
    example("a plain lookup is blocked", "lookup_order", {"order_id": "ord_6"}, "blocked")
    assert policy_examples.failures() == [policy_examples.Failure(
        example="a plain lookup is blocked", expected="blocked", got="allowed",
        reason="lookup_order is allowed: permitted (policy demo#1)")]


# -- the admin ------------------------------------------------------------------------------------------------


def test_admin_policy_save_that_breaks_an_example_is_refused_naming_it(client, admin_user, demo_set):
    client.force_login(admin_user)
    policy = Policy.objects.get(name="demo")
    before = version_count()
    response = client.post(reverse("admin:governance_policy_change", args=[policy.pk]), {
        "name": "demo", "description": "", "cedar": DEMO_CEDAR, "mode": "active",
        "version_comment": "switch the demo policy off"})
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        f"Saving this breaks the {LOOKUP_BLOCKED}. Change the example first if the new outcome is the one wanted."]
    assert (Policy.objects.get(name="demo").enabled, version_count()) == (True, before)


def test_admin_tool_save_that_breaks_an_example_is_refused_and_one_that_keeps_them_saves(client, admin_user,
                                                                                         demo_set):
    client.force_login(admin_user)
    tool = ToolRegistration.objects.get(name="refund_payment")
    url = reverse("admin:governance_toolregistration_change", args=[tool.pk])
    form = {"name": "refund_payment", "callable_path": tool.callable_path, "description": tool.description,
            "enabled": "on", "domain": "customer_transactions", "actor": "", "decision_mode": "submit",
            "value_argument": "amount", "target_argument": "order_id", "approve_above": "100", "block_above": "200",
            "schema_override": "", "redact_fields": "", "approvals_needed": "1", "version_comment": "lower the cap"}
    before = version_count()
    response = client.post(url, form)
    assert response.status_code == 200
    [error] = response.context["adminform"].form.non_field_errors()
    assert error.startswith("Saving this breaks the example “refund above 100 asks a reviewer” must get requires "
                            "approval but gets blocked (")
    assert (ToolRegistration.objects.get(pk=tool.pk).block_above, version_count()) == (Decimal("10000"), before)
    response = client.post(url, {**form, "block_above": "5000"})
    assert response.status_code == 302
    assert (ToolRegistration.objects.get(pk=tool.pk).block_above, version_count()) == (Decimal("5000"), before + 1)


def test_admin_delete_that_breaks_an_example_is_refused_naming_it(client, admin_user, demo_set):
    client.force_login(admin_user)
    policy = Policy.objects.get(name="demo")
    before = version_count()
    response = client.post(reverse("admin:governance_policy_delete", args=[policy.pk]),
                           {"post": "yes", "version_comment": "no more demo"})
    assert response.status_code == 200
    assert "Deleting it breaks the example “lookups are allowed” must get allowed but gets blocked" in (
        response.content.decode())
    assert (Policy.objects.filter(name="demo").count(), version_count()) == (1, before)


def test_admin_rollback_that_breaks_an_example_is_refused_naming_it(client, admin_user, demo_set):
    client.force_login(admin_user)
    with_demo = PolicySetVersion.objects.order_by("-number").first()
    policy = Policy.objects.get(name="demo")
    policy.enabled = False
    with versions.changing(by=admin_user, comment="no lookups for now"):
        policy.save()
    PolicyExample.objects.filter(name="lookups are allowed").update(expected="blocked")
    before = version_count()
    response = client.post(reverse("admin:governance_policysetversion_rollback", args=[with_demo.pk]),
                           {"comment": "lookups back"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Rolling back breaks the example “lookups are allowed” must get blocked but gets allowed (lookup_order is "
        "allowed: permitted (policy demo#1)). Change the example first if the new outcome is the one wanted."]
    assert (Policy.objects.get(name="demo").enabled, version_count()) == (False, before)


def test_admin_example_that_the_active_set_fails_is_refused_naming_what_it_gets(client, admin_user, demo_set):
    client.force_login(admin_user)
    url = reverse("admin:governance_policyexample_add")
    form = {"name": "big refund", "description": "", "tool": "refund_payment",
            "arguments": '{"order_id": "ord_9", "amount": 20000}', "actor": "", "domain": "", "expected": "allowed"}
    response = client.post(url, form)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"expected": [
        "The active policy set gives this call blocked, not allowed: refund_payment is blocked: value 20,000.00 is "
        "above 10,000 (policy refund_payment-threshold)."]}
    assert not PolicyExample.objects.filter(name="big refund").exists()
    response = client.post(url, {**form, "expected": "blocked"})
    assert response.status_code == 302
    assert PolicyExample.objects.get(name="big refund").expected == "blocked"


def test_admin_example_with_an_unknown_tool_or_bad_arguments_is_refused(client, admin_user, demo_set):
    client.force_login(admin_user)
    url = reverse("admin:governance_policyexample_add")
    form = {"name": "x", "description": "", "tool": "refund", "arguments": "{}", "actor": "", "domain": "",
            "expected": "allowed"}
    errors = client.post(url, form).context["adminform"].form.errors
    assert errors == {"tool": ["No tool is registered as “refund” (registered: delete_customer, lookup_order, "
                               "refund_payment)."]}
    errors = client.post(url, {**form, "tool": "lookup_order"}).context["adminform"].form.errors
    assert list(errors) == ["arguments"] and errors["arguments"][0].startswith("Not valid arguments for lookup_order")


# -- check_policies -------------------------------------------------------------------------------------------


def test_check_policies_without_examples_says_so(db, capsys):
    call_command("check_policies")
    assert capsys.readouterr().out == ("No policy examples to check (add them in the admin: Governance, Policy "
                                       "examples).\n")


def test_check_policies_passes_on_the_seeded_demo(db, capsys):
    seed_demo()
    call_command("check_policies")
    assert capsys.readouterr().out == "All 5 policy examples get their outcomes.\n"


def test_check_policies_prints_each_failure_and_exits_non_zero(demo_set, capsys):
    Policy.objects.filter(name="demo").update(enabled=False)
    with pytest.raises(CommandError) as raised:
        call_command("check_policies")
    assert raised.value.returncode == 1
    assert str(raised.value) == "1 of 4 policy examples fail with the active policy set."
    assert capsys.readouterr().err == f"FAIL {LOOKUP_BLOCKED}\n"
