"""“Replay this draft” on the admin forms of the policy set, the replay's own page and its cancel, and the
findings shown when a policy is saved (governance/admin.py, governance/views.py)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst

from governance import replay_jobs, versions
from governance.models import DecisionInput, DomainDefault, Policy, PolicySetVersion, ReplayJob, ToolRegistration
from tests.factories import make_user, register_demo_tools

pytestmark = pytest.mark.django_db

LOOKUPS_FORBIDDEN = '@id("no-lookups")\nforbid(principal, action == Action::"lookup_order", resource);'
RUN_ID = uuid.UUID("6f1d3c1e-0000-4000-8000-000000000001")


@pytest.fixture
def recorded(db):
    register_demo_tools()
    for i in range(2):
        DecisionInput.objects.create(tool="lookup_order", actor="dashboard", domain="customer_transactions",
                                     arguments={"order_id": f"ord_{i}"}, outcome="allowed",
                                     run_id=RUN_ID if i == 0 else None, call_id=f"call_{i}", source="dashboard")


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("ada", password="pw-ada"))
    return client


def policy_form(**changes) -> dict:
    return {"name": "demo", "description": "", "cedar": LOOKUPS_FORBIDDEN, "enabled": "on", "mode": "active",
            "version_comment": "", "replay_days": "7", "_replay": "Replay this draft", **changes}


def change_url(policy: Policy) -> str:
    return reverse("admin:governance_policy_change", args=[policy.pk])


def test_replay_button_starts_a_replay_of_the_draft_and_keeps_what_was_typed(admin_client, recorded,
                                                                             django_capture_on_commit_callbacks):
    policy = Policy.objects.get(name="demo")
    before = (policy.cedar, PolicySetVersion.objects.count())
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(change_url(policy), policy_form())
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert (form.data["cedar"], form.data["replay_days"], form.errors) == (LOOKUPS_FORBIDDEN, "7", {})
    job = ReplayJob.objects.get()
    assert (job.label, job.days, job.draft["policies"]["demo"]["cedar"]) == (
        "policy demo (unsaved change)", 7, LOOKUPS_FORBIDDEN)
    policy.refresh_from_db()
    assert (policy.cedar, PolicySetVersion.objects.count()) == before  # nothing saved
    html = response.content.decode()
    assert 'id="replay-panel"' in html
    assert "forbid(principal, action == Action::&quot;lookup_order&quot;, resource);" in html  # the textarea
    assert reverse("governance:replay", args=[job.pk]) in html
    job.refresh_from_db()
    assert (job.status, job.result["changed"]) == ("done", 2)


def test_replay_button_on_the_add_form_replays_the_new_policy(admin_client, recorded):
    response = admin_client.post(reverse("admin:governance_policy_add"), policy_form(name="no-lookups"))
    assert response.status_code == 200
    job = ReplayJob.objects.get()
    assert job.label == "policy no-lookups (new, unsaved)"
    assert set(job.draft["policies"]) == {"demo", "no-lookups"}
    assert not Policy.objects.filter(name="no-lookups").exists()


def test_replay_button_on_a_tool_form_replays_its_thresholds(admin_client, recorded):
    tool = ToolRegistration.objects.get(name="refund_payment")
    form = {"name": "refund_payment", "callable_path": tool.callable_path, "description": "", "enabled": "on",
            "domain": "customer_transactions", "actor": "", "decision_mode": "submit", "value_argument": "amount",
            "target_argument": "order_id", "approve_above": "10", "block_above": "200", "schema_override": "",
            "redact_fields": "", "approvals_needed": "1", "version_comment": "", "replay_days": "30",
            "_replay": "Replay this draft"}
    response = admin_client.post(reverse("admin:governance_toolregistration_change", args=[tool.pk]), form)
    assert response.status_code == 200
    job = ReplayJob.objects.get()
    assert (job.label, job.draft["tools"]["refund_payment"]["block_above"]) == ("tool refund_payment (unsaved change)",
                                                                                "200")
    assert ToolRegistration.objects.get(pk=tool.pk).block_above == 10000


def test_an_invalid_draft_shows_its_errors_and_starts_nothing(admin_client, recorded):
    response = admin_client.post(change_url(Policy.objects.get(name="demo")),
                                 policy_form(cedar="permit(principal, action, resource"))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert list(form.errors) == ["cedar"]
    assert form.data["cedar"] == "permit(principal, action, resource"
    assert ReplayJob.objects.count() == 0
    assert 'id="replay-panel"' not in response.content.decode()


def test_days_outside_one_to_365_are_refused_and_start_nothing(admin_client, recorded):
    response = admin_client.post(change_url(Policy.objects.get(name="demo")), policy_form(replay_days="400"))
    assert response.context["adminform"].form.errors["replay_days"] == [
        "Ensure this value is less than or equal to 365."]
    assert "Ensure this value is less than or equal to 365." in response.content.decode()
    assert ReplayJob.objects.count() == 0


def test_a_save_ignores_the_replay_days(admin_client, recorded):
    form = {**policy_form(replay_days="abc", version_comment="forbid lookups"), "_save": "Save"}
    del form["_replay"]
    response = admin_client.post(change_url(Policy.objects.get(name="demo")), form)
    assert response.status_code == 302
    assert Policy.objects.get(name="demo").cedar == LOOKUPS_FORBIDDEN


def test_who_may_not_change_the_policy_set_sees_no_button_and_is_refused(client, recorded):
    viewer = make_user("vic", staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_policy"))
    client.force_login(viewer)
    url = change_url(Policy.objects.get(name="demo"))
    assert "Replay this draft" not in client.get(url).content.decode()
    assert client.post(url, policy_form()).status_code == 403
    assert ReplayJob.objects.count() == 0


def test_replay_page_needs_the_permission(client, recorded):
    job = replay_jobs.start(draft=versions.snapshot(), label="the active set", by=None)
    url = reverse("governance:replay", args=[job.pk])
    client.force_login(make_user("olivia"))
    assert client.get(url).status_code == 403
    assert client.post(reverse("governance:replay_cancel", args=[job.pk])).status_code == 403
    assert ReplayJob.objects.get(pk=job.pk).cancel_requested is False


def test_replay_page_of_a_running_job_polls_and_offers_cancel(admin_client, recorded):
    job = replay_jobs.start(draft=versions.snapshot(), label="the active set", by=None)
    ReplayJob.objects.filter(pk=job.pk).update(status="running", done=1, total=2)
    url = reverse("governance:replay", args=[job.pk])
    page = admin_client.get(url).content.decode()
    assert '<progress id="replay-progress" value="1" max="2">' in page
    assert 'hx-trigger="every 500ms"' in page
    assert "<html" in page
    fragment = admin_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert fragment.strip().startswith("<section id=\"replay-panel\"")


def test_cancel_from_the_page_stops_the_job(admin_client, recorded):
    job = replay_jobs.start(draft=versions.snapshot(), label="the active set", by=None)
    response = admin_client.post(reverse("governance:replay_cancel", args=[job.pk]), {"standalone": "1"},
                                 headers={"HX-Request": "true"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-status="cancelled"' in page
    assert 'hx-trigger="every 500ms"' not in page  # finished: it stops polling
    assert ReplayJob.objects.get(pk=job.pk).status == "cancelled"


def test_finished_replay_shows_changes_grouped_with_examples_linked_to_runs(admin_client, recorded,
                                                                           django_capture_on_commit_callbacks):
    policy = Policy.objects.get(name="demo")
    policy.cedar = LOOKUPS_FORBIDDEN
    with django_capture_on_commit_callbacks(execute=True):
        job = replay_jobs.start(draft=versions.draft(saving=policy), label="policy demo (unsaved change)", by=None)
    page = admin_client.get(reverse("governance:replay", args=[job.pk])).content.decode()
    assert '<strong id="replay-changed">2</strong> would change.' in page
    assert "<tr><td>allowed</td><td>blocked</td><td>2</td></tr>" in page
    assert "<tr><td>lookup_order</td><td>dashboard</td><td>allowed → blocked</td><td>2</td></tr>" in page
    assert f'<a href="{reverse("runs:detail", args=[RUN_ID])}">run</a>' in page
    assert "call call_1" in page  # no run: the call is named instead
    assert 'hx-trigger' not in page
    assert "replayed with redacted arguments" not in page


def test_the_replay_says_how_many_decisions_were_replayed_with_redacted_arguments(admin_client, recorded,
                                                                                 django_capture_on_commit_callbacks):
    DecisionInput.objects.filter(call_id="call_1").update(arguments={"order_id": "[redacted]"}, redacted=True)
    with django_capture_on_commit_callbacks(execute=True):
        job = replay_jobs.start(draft=versions.snapshot(), label="the active set", by=None)
    page = admin_client.get(reverse("governance:replay", args=[job.pk])).content.decode()
    assert '<p id="replay-redacted">1 of them were replayed with redacted arguments' in page


def test_replays_are_listed_in_the_admin_linked_to_their_pages(admin_client, recorded):
    job = replay_jobs.start(draft=versions.snapshot(), label="the active set", by=None)
    page = admin_client.get(reverse("admin:governance_replayjob_changelist")).content.decode()
    assert f'<a href="{reverse("governance:replay", args=[job.pk])}">open</a>' in page


def test_replay_button_on_a_domain_default_form(admin_client, recorded):
    default = DomainDefault.objects.get()
    response = admin_client.post(reverse("admin:governance_domaindefault_change", args=[default.pk]), {
        "domain": "customer_transactions", "outcome": "allowed", "version_comment": "", "replay_days": "30",
        "_replay": "Replay this draft"})
    assert response.status_code == 200
    job = ReplayJob.objects.get()
    assert (job.label, job.draft["domain_defaults"]["customer_transactions"]["outcome"]) == (
        "domain default customer_transactions (unsaved change)", "allowed")
    assert DomainDefault.objects.get().outcome == "blocked"


def test_saving_a_policy_shows_its_findings_as_warnings_linked_to_the_replay(admin_client, recorded):
    response = admin_client.post(reverse("admin:governance_policy_add"), {
        "name": "no-refunds", "description": "", "enabled": "on", "mode": "active", "version_comment": "a new rule",
        "cedar": 'forbid(principal, action == Action::"refund_payment", resource);'}, follow=True)
    job = ReplayJob.objects.get()
    assert (job.status, [f["kind"] for f in job.findings if f["policy"] == "no-refunds"]) == ("done", ["ineffective"])
    [finding] = [f["message"] for f in job.findings if f["policy"] == "no-refunds"]
    warnings = [str(m) for m in response.context["messages"] if m.level_tag == "warning"]
    assert warnings == [f'{finding} <a href="{reverse("governance:replay", args=[job.pk])}">See the replay</a> '
                        "(the last 30 days)."]
    assert f'<li class="warning">{capfirst(warnings[0])}</li>' in response.content.decode()  # a link, not escaped


def replayer(username: str, *codenames: str):
    user = make_user(username, staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def test_who_may_change_the_policy_set_but_not_read_the_audit_history_may_not_see_a_replay(client, recorded):
    job = replay_jobs.start(draft=versions.snapshot(), label="the active set", by=None)
    url = reverse("governance:replay", args=[job.pk])
    client.force_login(replayer("dora", "add_domaindefault"))
    assert client.get(url).status_code == 403  # it shows every actor's calls and reasons
    client.force_login(replayer("audrey", "add_domaindefault", "view_auditrecord"))
    assert client.get(url).status_code == 200


def test_a_replay_is_cancelled_by_whoever_started_it_not_by_another_replayer(client, recorded):
    pat = replayer("pat", "change_policy", "view_auditrecord")
    job = replay_jobs.start(draft=versions.snapshot(), label="the active set", by=pat)
    cancel_url = reverse("governance:replay_cancel", args=[job.pk])
    client.force_login(replayer("quinn", "change_policy", "view_auditrecord"))
    assert 'id="replay-cancel"' not in client.get(reverse("governance:replay", args=[job.pk])).content.decode()
    assert client.post(cancel_url).status_code == 403
    assert ReplayJob.objects.get(pk=job.pk).cancel_requested is False
    client.force_login(pat)
    assert client.post(cancel_url).status_code == 302
    assert ReplayJob.objects.get(pk=job.pk).status == "cancelled"


def test_a_running_replay_whose_worker_died_says_so_and_cancel_finishes_it(admin_client, recorded):
    job = replay_jobs.start(draft=versions.snapshot(), label="the active set", by=None)
    long_ago = timezone.now() - replay_jobs.STALE_AFTER - timedelta(seconds=1)
    ReplayJob.objects.filter(pk=job.pk).update(status="running", started_at=long_ago, heartbeat_at=long_ago,
                                               cancel_requested=True, done=1, total=2)
    page = admin_client.get(reverse("governance:replay", args=[job.pk])).content.decode()
    assert 'id="replay-stale"' in page
    assert '<button type="submit" id="replay-cancel">Cancel</button>' in page  # not stuck at “Cancelling…”
    response = admin_client.post(reverse("governance:replay_cancel", args=[job.pk]), {"standalone": "1"},
                                 headers={"HX-Request": "true"})
    assert 'data-status="cancelled"' in response.content.decode()
    assert 'hx-trigger="every 500ms"' not in response.content.decode()  # it stops polling


def test_an_sql_error_in_the_replay_on_save_fails_the_replay_not_the_save(admin_client, recorded, monkeypatch):
    def timing_out(*args, **kwargs):
        with connection.cursor() as cursor:  # as a statement timeout would, on PostgreSQL aborting the transaction
            cursor.execute("SELECT * FROM no_such_table_for_a_replay")

    monkeypatch.setattr("governance.replay.replay", timing_out)
    form = {**policy_form(version_comment="forbid lookups"), "_save": "Save"}
    del form["_replay"]
    response = admin_client.post(change_url(Policy.objects.get(name="demo")), form, follow=True)
    assert response.status_code == 200
    assert Policy.objects.get(name="demo").cedar == LOOKUPS_FORBIDDEN  # saved
    job = ReplayJob.objects.get()
    assert (job.status, "no_such_table_for_a_replay" in job.error) == ("failed", True)
    warnings = [str(m) for m in response.context["messages"] if m.level_tag == "warning"]
    assert len(warnings) == 1 and warnings[0].startswith("The replay for this policy's findings failed: ")


def test_a_policy_editor_who_may_not_see_replays_gets_the_findings_without_a_link(client, recorded):
    client.force_login(replayer("pat", "add_policy", "view_policy"))  # no view_auditrecord: no replay pages
    response = client.post(reverse("admin:governance_policy_add"), {
        "name": "no-refunds", "description": "", "enabled": "on", "mode": "active", "version_comment": "a new rule",
        "cedar": 'forbid(principal, action == Action::"refund_payment", resource);'}, follow=True)
    job = ReplayJob.objects.get()
    [finding] = [f["message"] for f in job.findings if f["policy"] == "no-refunds"]
    warnings = [str(m) for m in response.context["messages"] if m.level_tag == "warning"]
    assert warnings == [f"{finding} (A replay of the last 30 days.)"]
    assert reverse("governance:replay", args=[job.pk]) not in response.content.decode()
