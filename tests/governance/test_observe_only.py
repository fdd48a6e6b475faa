"""Observe-only domains (governance/observe.py): decisions there are computed and recorded, the calls
proceed; a pause still blocks; refused unless GOVERNANCE_ALLOW_OBSERVE_ONLY; every switch audited and
versioned; the domain's runs and audit records are marked."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from approvals.models import ApprovalRequest
from audit.models import AuditRecord
from governance import pauses, versions
from governance.models import DomainDefault, PolicySetVersion, ToolRegistration
from runs.models import Run
from tests.factories import blocked_run, make_user, paused_run, start_run_now
from tests.support import demo_tools

pytestmark = pytest.mark.django_db

DOMAIN = "customer_transactions"  # the demo tools' domain
BADGE = '<span class="badge observe-only"'
WOULD_HAVE_BEEN_BLOCKED = ("delete_customer is blocked: forbidden (policy demo#2) "
                           "(observe only: would have been blocked)")


@pytest.fixture
def observed(demo_tools_registered):
    """The demo tools' domain set to observe only."""
    default, _ = DomainDefault.objects.update_or_create(domain=DOMAIN, defaults={"observe_only": True})
    return default


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("ada", password="pw-ada")


def steps(run: Run) -> list[tuple[str, str, str, str | None]]:
    """(tool, status, reason, observed outcome) of each call of the run, in order."""
    return [(e.payload["tool"], e.payload["status"], e.payload["reason"], e.payload["decision"]["observed_outcome"])
            for e in run.events.filter(type="execution_event").order_by("seq")]


def test_a_blocked_call_in_an_observe_only_domain_runs_and_records_what_it_would_have_been(observed, operator):
    run = blocked_run(operator)

    assert steps(run) == [("delete_customer", "executed", WOULD_HAVE_BEEN_BLOCKED, "blocked")]
    assert demo_tools.EXECUTIONS == [{"tool": "delete_customer", "customer_id": "cus_9"}]
    record = AuditRecord.objects.get(run_id=run.pk, kind="execution")
    assert (record.decision, record.domain, record.reason) == ("allowed", DOMAIN, WOULD_HAVE_BEEN_BLOCKED)
    assert json.loads(record.details)["decision"]["observed_outcome"] == "blocked"


def test_a_call_needing_approval_in_an_observe_only_domain_runs_without_a_request(observed, operator):
    run = paused_run(operator)

    [(tool, status, reason, observed_outcome)] = steps(run)
    assert (tool, status, observed_outcome, run.status) == ("refund_payment", "executed", "requires_approval",
                                                            "completed")
    assert reason.endswith("(observe only: would have required approval)")
    assert ApprovalRequest.objects.filter(run=run).count() == 0


def test_a_paused_tool_still_blocks_in_an_observe_only_domain(observed, operator):
    rita = make_user("rita", reviewer=True)
    rita.user_permissions.add(Permission.objects.get(codename="pause_decisions"))
    pauses.pause(scope="tool", value="delete_customer", by=rita)

    run = blocked_run(operator)

    [(tool, status, reason, observed_outcome)] = steps(run)
    assert (tool, status, observed_outcome) == ("delete_customer", "blocked", None)
    assert reason.startswith("tool delete_customer paused by rita at ")
    assert demo_tools.EXECUTIONS == []


def test_observe_only_is_ignored_where_the_setting_refuses_it(observed, operator, settings):
    settings.GOVERNANCE_ALLOW_OBSERVE_ONLY = False

    run = blocked_run(operator)

    assert steps(run) == [("delete_customer", "blocked", "delete_customer is blocked: forbidden (policy demo#2)",
                           None)]
    assert demo_tools.EXECUTIONS == []


def test_the_admin_refuses_observe_only_where_the_setting_refuses_it(client, admin_user, settings):
    settings.GOVERNANCE_ALLOW_OBSERVE_ONLY = False
    client.force_login(admin_user)

    response = client.post(reverse("admin:governance_domaindefault_add"), {
        "domain": "payments", "outcome": "blocked", "observe_only": "on", "version_comment": "try it first"})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["observe_only"] == [
        "Observe only is refused here: in this deployment (the production profile) calls in an observe-only domain "
        "would run whatever the policies decide. Set GOVERNANCE_ALLOW_OBSERVE_ONLY=true to allow it "
        "(docs/policies.md)."]
    assert DomainDefault.objects.count() == 0


def test_switching_observe_only_in_the_admin_is_audited_and_versioned(client, admin_user):
    default = DomainDefault.objects.create(domain="payments", outcome="blocked")
    client.force_login(admin_user)

    response = client.post(reverse("admin:governance_domaindefault_change", args=[default.pk]), {
        "domain": "payments", "outcome": "blocked", "observe_only": "on", "version_comment": "watch it first"})

    assert response.status_code == 302
    record = AuditRecord.objects.filter(kind="configuration", details__contains="DomainDefault").latest("id")
    assert (record.actor, record.reason) == (
        "ada", "domain default “payments: blocked (observe only)” changed: observe_only")
    assert json.loads(record.details)["before"] == {"observe_only": False}
    version = PolicySetVersion.objects.order_by("-number").first()
    assert (version.comment, version.diff) == (
        "watch it first", "domain default “payments” changed\n  observe_only: False → True")


def test_the_run_page_and_the_audit_page_mark_a_run_in_an_observe_only_domain(observed, operator, client):
    run = blocked_run(operator)
    client.force_login(operator)

    run_page = client.get(run.get_absolute_url()).content.decode()
    auditor = make_user("audrey")
    auditor.user_permissions.add(Permission.objects.get(codename="view_auditrecord"))
    client.force_login(auditor)
    audit_page = client.get(reverse("audit:index"), {"tool": "delete_customer"}).content.decode()

    assert run_page.count(BADGE) == 2  # the run, and its execution's audit row
    assert 'id="observe-only"' in run_page
    assert audit_page.count(BADGE) == 1


def test_the_runs_list_marks_only_runs_in_an_observe_only_domain(observed, operator, client):
    ToolRegistration.objects.filter(name="delete_customer").update(domain="hr")
    blocked_run(operator)  # its tool in domain hr
    start_run_now(operator, "Look up order ord_5", tools=("lookup_order",))
    client.force_login(operator)

    page = client.get(reverse("runs:list")).content.decode()

    rows = page.split("<tbody>")[1].split("<tr>")[1:]
    assert [("Look up" in row, BADGE in row) for row in rows] == [(True, True), (False, False)]  # newest first


def test_a_request_waiting_when_its_domain_became_observe_only_is_marked_in_the_queue_and_on_its_page(
        demo_tools_registered, operator, reviewer, client):
    approval = ApprovalRequest.objects.get(run=paused_run(operator))
    client.force_login(reviewer)
    before = client.get(reverse("approvals:queue")).content.decode()
    DomainDefault.objects.update_or_create(domain=DOMAIN, defaults={"observe_only": True})

    queue = client.get(reverse("approvals:queue")).content.decode()
    page = client.get(reverse("approvals:detail", args=[approval.pk])).content.decode()

    assert (BADGE in before, queue.count(BADGE), page.count(BADGE)) == (False, 1, 1)


def test_a_version_taken_before_observe_only_existed_differs_only_where_a_domain_was_switched():
    older = {"domain_defaults": {"hr": {"outcome": "blocked"}, "payments": {"outcome": "allowed"}}}
    now = {"domain_defaults": {"hr": {"outcome": "blocked", "observe_only": False},
                               "payments": {"outcome": "allowed", "observe_only": True}}}

    assert versions.diff_snapshots(older, now) == [
        ("domain_default", "payments", "changed", "domain default “payments” changed\n  observe_only: False → True")]
