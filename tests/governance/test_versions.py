"""Policy set versions (governance/versions.py): every change to policies, tools' decision settings and domain
defaults is a numbered, immutable version with its author, comment and diff; rollback makes a new version;
decisions record the version that made them."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from agents.models import AgentActivity
from approvals.models import ApprovalRequest
from audit.models import AuditKind, AuditRecord
from governance import versions
from governance.assembly import embedded_engine
from governance.decisions import ActionRequest
from governance.models import (
    DomainDefault,
    ImmutableError,
    Policy,
    PolicySetChange,
    PolicySetVersion,
    ToolRegistration,
)
from runs.models import RunEvent
from tests.factories import make_agent_key, start_run_now

pytestmark = pytest.mark.django_db

# Statements that match no real call (no tool is named "x"): what they say does not matter here.
PERMIT_TEXT = 'permit(principal, action == Action::"refund_payment", resource) when { context.tool == "x" };'
FORBID_TEXT = 'forbid(principal, action == Action::"refund_payment", resource) when { context.tool == "x" };'


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("rita", password="pw-rita")


@pytest.fixture
def refund_tool(db):
    tool = ToolRegistration(name="refund_payment", callable_path="governance.demo_tools.refund_payment",
                            value_argument="amount", approve_above=Decimal("100"), block_above=Decimal("10000"))
    tool.full_clean()
    tool.save()
    return tool


def refund(amount: float):
    return embedded_engine().evaluate(ActionRequest(tool="refund_payment", arguments={"amount": amount},
                                                    actor="AI_AGENT_001", domain="customer_transactions",
                                                    value=amount))


def latest() -> PolicySetVersion:
    return PolicySetVersion.objects.order_by("-number").first()


def test_policy_change_is_a_version_with_author_comment_and_cedar_diff(admin_user, refund_tool):
    with versions.changing(by=admin_user, comment="allow lookups"):
        Policy.objects.create(name="lookups", cedar=PERMIT_TEXT)
    policy = Policy.objects.get()
    policy.cedar = FORBID_TEXT
    with versions.changing(by=admin_user, comment="no lookups overnight") as change:
        policy.save()

    version = change.version
    assert (version.number, version.author, version.author_name, version.comment) == (
        3, admin_user, "rita", "no lookups overnight")
    assert version.diff == ("policy “lookups” changed\n"
                            "  cedar:\n"
                            "    --- before\n"
                            "    +++ after\n"
                            "    @@ -1 +1 @@\n"
                            f"    -{PERMIT_TEXT}\n"
                            f"    +{FORBID_TEXT}")
    assert version.snapshot["policies"] == {"lookups": {"cedar": FORBID_TEXT, "enabled": True, "mode": "active"}}
    assert [(c.kind, c.name, c.action) for c in version.changes.all()] == [("policy", "lookups", "changed")]


def test_tool_threshold_change_is_a_version_with_old_and_new_values(admin_user, refund_tool):
    refund_tool.approve_above = Decimal("250")
    refund_tool.redact_fields = "order_id"
    with versions.changing(by=admin_user, comment="bigger refunds without review") as change:
        refund_tool.save()
    assert change.version.diff == ("tool “refund_payment” changed\n"
                                   "  approve_above: 100.00 → 250.00\n"
                                   "  redact_fields: (none) → order_id")


def test_domain_default_created_and_deleted_are_versions(admin_user):
    with versions.changing(by=admin_user, comment="payments ask a reviewer") as created:
        default = DomainDefault.objects.create(domain="payments", outcome="requires_approval")
    with versions.changing(by=admin_user, comment="back to fail closed") as deleted:
        default.delete()
    assert (created.version.number, created.version.diff) == (
        1, "domain default “payments” created\n  outcome: (none) → requires_approval\n  observe_only: (none) → False")
    assert (deleted.version.number, deleted.version.diff) == (
        2, "domain default “payments” deleted\n  outcome: requires_approval → (none)\n  observe_only: False → (none)")


def test_save_outside_the_admin_is_a_system_version_and_no_change_is_no_version(refund_tool):
    version = latest()
    assert (version.number, version.author, version.author_name, version.comment) == (
        1, None, "system", versions.UNCOMMENTED)
    refund_tool.description = "Refund a payment."  # not a decision setting
    refund_tool.save()
    assert PolicySetVersion.objects.count() == 1


def test_a_change_without_a_comment_is_refused_before_anything_changes(refund_tool):
    with pytest.raises(versions.VersionError, match="a comment is required"), versions.changing(by=None,
                                                                                               comment="  "):
        Policy.objects.create(name="lookups", cedar=PERMIT_TEXT)
    assert (Policy.objects.count(), PolicySetVersion.objects.count()) == (0, 1)


def test_versions_cannot_be_changed_or_deleted(refund_tool):
    version = latest()
    version.comment = "rewritten"
    with pytest.raises(ImmutableError):
        version.save()
    with pytest.raises(ImmutableError):
        version.delete()
    with pytest.raises(ImmutableError):
        PolicySetVersion.objects.update(comment="rewritten")
    with pytest.raises(ImmutableError):
        PolicySetChange.objects.all().delete()
    assert (latest().comment, PolicySetChange.objects.count()) == (versions.UNCOMMENTED, 1)


def test_each_version_is_in_the_audit_history_with_its_number_and_comment(admin_user, refund_tool):
    with versions.changing(by=admin_user, comment="allow lookups"):
        Policy.objects.create(name="lookups", cedar=PERMIT_TEXT)
    record = AuditRecord.objects.filter(kind=AuditKind.CONFIGURATION).latest("id")
    details = json.loads(record.details)
    assert (record.reason, details["after"]["number"], details["after"]["comment"]) == (
        "policy set version “v2” created", 2, "allow lookups")


# -- the admin ------------------------------------------------------------------------------------------------


def test_admin_refuses_a_policy_saved_without_a_comment(client, admin_user, refund_tool):
    client.force_login(admin_user)
    response = client.post(reverse("admin:governance_policy_add"),
                           {"name": "lookups", "description": "", "cedar": PERMIT_TEXT, "enabled": "on",
                            "mode": "active"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"version_comment": ["This field is required."]}
    assert (Policy.objects.count(), PolicySetVersion.objects.count()) == (0, 1)


def test_admin_change_with_a_comment_is_a_version_shown_on_the_objects_page(client, admin_user, refund_tool):
    client.force_login(admin_user)
    url = reverse("admin:governance_domaindefault_add")
    response = client.post(url, {"domain": "payments", "outcome": "allowed", "version_comment": "trusted domain"})
    assert response.status_code == 302
    version = latest()
    assert (version.number, version.author_name, version.comment) == (2, "rita", "trusted domain")
    page = client.get(reverse("admin:governance_domaindefault_change", args=[DomainDefault.objects.get().pk]))
    assert "domain default “payments” created\n  outcome: (none) → allowed" in page.content.decode()


def test_admin_refuses_a_delete_without_a_comment(client, admin_user, refund_tool):
    client.force_login(admin_user)
    url = reverse("admin:governance_toolregistration_delete", args=[refund_tool.pk])
    response = client.post(url, {"post": "yes"})
    assert response.status_code == 200
    assert "Say why you delete it: a comment is required." in response.content.decode()
    assert ToolRegistration.objects.count() == 1
    response = client.post(url, {"post": "yes", "version_comment": "refunds go through billing now"})
    assert response.status_code == 302
    version = latest()
    assert (ToolRegistration.objects.count(), version.number, version.comment) == (
        0, 2, "refunds go through billing now")
    assert version.diff.startswith("tool “refund_payment” deleted\n")


def test_admin_offers_no_bulk_delete_of_the_policy_set(client, admin_user, refund_tool):
    client.force_login(admin_user)
    response = client.get(reverse("admin:governance_toolregistration_changelist"))
    actions = [name for name, _ in response.context["action_form"].fields["action"].choices]
    assert actions == ["", "pause_tools"]


def test_admin_versions_are_read_only(client, admin_user, refund_tool):
    client.force_login(admin_user)
    version = latest()
    listed = client.get(reverse("admin:governance_policysetversion_changelist")).content.decode()
    assert "tool refund_payment (created)" in listed and versions.UNCOMMENTED in listed
    page = client.get(reverse("admin:governance_policysetversion_change", args=[version.pk]))
    assert page.status_code == 200 and "tool “refund_payment” created" in page.content.decode()
    assert client.post(reverse("admin:governance_policysetversion_change", args=[version.pk]),
                       {"comment": "rewritten"}).status_code == 403
    assert client.post(reverse("admin:governance_policysetversion_delete", args=[version.pk]),
                       {"post": "yes"}).status_code == 403
    assert latest().comment == versions.UNCOMMENTED


# -- rollback -------------------------------------------------------------------------------------------------


def test_rollback_is_a_new_version_with_the_old_content_and_decisions_follow_it(admin_user, refund_tool):
    first = latest()
    assert (refund(500).outcome, refund(500).policy_version) == ("requires_approval", 1)
    refund_tool.approve_above = Decimal("1000")
    with versions.changing(by=admin_user, comment="review only big refunds"):
        refund_tool.save()
    assert (refund(500).outcome, refund(500).policy_version) == ("allowed", 2)

    made = versions.rollback(to=first.number, by=admin_user, comment="too many refunds went through")

    assert (made.number, made.rollback_of, made.comment, made.author_name) == (
        3, first, "rollback to v1: too many refunds went through", "rita")
    assert made.snapshot == first.snapshot
    assert made.diff == "tool “refund_payment” changed\n  approve_above: 1000.00 → 100.00"
    assert PolicySetVersion.objects.count() == 3  # the versions in between stay
    assert (refund(500).outcome, refund(500).policy_version) == ("requires_approval", 3)


def test_rollback_restores_deleted_policies_and_removes_later_ones(admin_user, refund_tool):
    with versions.changing(by=admin_user, comment="allow lookups"):
        Policy.objects.create(name="lookups", cedar=PERMIT_TEXT)
    with_lookups = latest()
    with versions.changing(by=admin_user, comment="swap"):
        Policy.objects.get().delete()
        Policy.objects.create(name="no-lookups", cedar=FORBID_TEXT)
    versions.rollback(to=with_lookups.number, by=admin_user, comment="swap back")
    assert list(Policy.objects.values_list("name", "cedar")) == [("lookups", PERMIT_TEXT)]


def test_rollback_to_the_current_content_or_without_a_comment_is_refused(admin_user, refund_tool):
    with pytest.raises(versions.VersionError, match="already as v1 left it"):
        versions.rollback(to=1, by=admin_user, comment="again")
    with pytest.raises(versions.VersionError, match="a comment is required"):
        versions.rollback(to=1, by=admin_user, comment="")
    assert PolicySetVersion.objects.count() == 1


def test_admin_rollback_asks_for_a_comment_and_makes_a_new_version(client, admin_user, refund_tool):
    client.force_login(admin_user)
    refund_tool.block_above = None
    with versions.changing(by=admin_user, comment="no ceiling"):
        refund_tool.save()
    url = reverse("admin:governance_policysetversion_rollback", args=[PolicySetVersion.objects.get(number=1).pk])
    page = client.get(url)
    assert "block_above: (none) → 10000.00" in page.content.decode()
    refused = client.post(url, {"comment": ""})
    assert (refused.status_code, refused.context["form"].errors) == (200, {"comment": ["This field is required."]})
    assert PolicySetVersion.objects.count() == 2
    response = client.post(url, {"comment": "keep the ceiling"})
    assert response.status_code == 302
    assert (latest().number, latest().comment) == (3, "rollback to v1: keep the ceiling")
    assert ToolRegistration.objects.get().block_above == Decimal("10000")


# -- decisions name their version --------------------------------------------------------------------------------


def test_a_governed_call_records_the_policy_set_version_that_decided_it(operator, demo_tools_registered):
    number = latest().number
    run = start_run_now(operator, "Look up order ord_100", tools=("lookup_order",))
    event = RunEvent.objects.get(run=run, type="execution_event")
    assert (event.payload["status"], event.payload["decision"]["policy_version"]) == ("executed", number)
    record = AuditRecord.objects.get(run_id=run.pk, kind=AuditKind.EXECUTION)
    assert json.loads(record.details)["decision"]["policy_version"] == number


def test_an_approval_request_records_the_policy_set_version(operator, demo_tools_registered):
    number = latest().number
    run = start_run_now(operator, "Refund order ord_7 for 250", tools=("refund_payment",))
    assert ApprovalRequest.objects.get(run=run).decision["policy_version"] == number


def test_a_remote_agents_decision_records_the_policy_set_version(client, demo_tools_registered):
    _, secret = make_agent_key()
    number = latest().number
    response = client.post("/bighub/actions/evaluate", json.dumps(
        {"action": "refund_payment", "value": 250, "actor": "AI_AGENT_001", "domain": "customer_transactions"}),
        content_type="application/json", HTTP_X_API_KEY=secret)
    assert response.status_code == 200
    assert AgentActivity.objects.get().payload["policy_version"] == number
    assert ApprovalRequest.objects.get().decision["policy_version"] == number
    record = AuditRecord.objects.get(kind=AuditKind.DECISION)
    assert json.loads(record.details)["policy_version"] == number


def test_a_remote_call_the_domain_default_decides_records_the_policy_set_version(client, demo_tools_registered):
    _, secret = make_agent_key()
    number = latest().number
    response = client.post("/bighub/actions/evaluate", json.dumps(
        {"action": "send_gift", "actor": "AI_AGENT_001", "domain": "customer_transactions"}),
        content_type="application/json", HTTP_X_API_KEY=secret)
    assert (response.status_code, response.json()["result"]) == (200, "blocked")
    assert AgentActivity.objects.get().payload["policy_version"] == number


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_the_existing_policy_set_as_version_1(migrate):
    apps = migrate([("governance", "0004_pause")])
    apps.get_model("governance", "Policy").objects.create(name="trial", cedar=PERMIT_TEXT)
    apps.get_model("governance", "DomainDefault").objects.create(domain="payments", outcome="allowed")

    apps = migrate([("governance", "0005_policy_set_versions")])

    [baseline] = apps.get_model("governance", "PolicySetVersion").objects.all()
    assert (baseline.number, baseline.author_name, baseline.comment) == (
        1, "system", "baseline: the policy set when versions began")
    assert baseline.snapshot == {"policies": {"trial": {"cedar": PERMIT_TEXT, "enabled": True}}, "tools": {},
                                 "domain_defaults": {"payments": {"outcome": "allowed"}}}


def test_a_version_outlives_its_author_by_name(admin_user, refund_tool):
    with versions.changing(by=admin_user, comment="allow"):
        Policy.objects.create(name="trial", cedar=PERMIT_TEXT)
    admin_user.delete()
    assert (latest().author, latest().author_name, latest().comment) == (None, "rita", "allow")
