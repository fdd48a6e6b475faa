"""Configuration changes made in the admin are audit records in the hash chain, naming who and what.

Each test posts the admin's real forms as a signed-in superuser (the form data is read from the
admin page itself, as a browser would send it back) and checks the records that one save made.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.forms import ReadOnlyPasswordHashField
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.forms import ModelMultipleChoiceField, MultipleChoiceField, MultiWidget
from django.urls import reverse

from approvals.demo_data import seed_demo
from approvals.models import DenyReason
from audit.chain import seal, verify_chain
from audit.models import AuditChainHead, AuditRecord
from audit.recorders import SYSTEM_NOTE, record_configuration_change
from governance.models import DomainDefault, Policy, ToolRegistration
from governance.redaction import is_secret_field
from tests.factories import make_user

pytestmark = pytest.mark.django_db

CEDAR = 'permit(principal, action == Action::"lookup_order", resource);'
NEW_CEDAR = 'forbid(principal, action == Action::"lookup_order", resource);'


def admin_form_data(client, url: str, **changes) -> dict:
    """The admin form at `url` as a browser submits it unchanged, with `changes` applied."""
    form = client.get(url).context["adminform"].form
    data = {}
    for bound in form:
        if isinstance(bound.field, ReadOnlyPasswordHashField):
            continue
        value, widget = bound.value(), bound.field.widget
        if isinstance(widget, MultiWidget):
            for index, part in enumerate(widget.decompress(value)):
                data[f"{bound.html_name}_{index}"] = "" if part is None else str(part)
        elif isinstance(bound.field, MultipleChoiceField | ModelMultipleChoiceField) and not value:
            continue  # a browser sends nothing for an empty multiple choice (a tool's reviewer groups)
        elif isinstance(value, list | tuple):
            data[bound.html_name] = [str(v) for v in value]
        elif isinstance(value, bool):
            if value:
                data[bound.html_name] = "on"
        else:
            data[bound.html_name] = "" if value is None else str(value)
    if "version_comment" in data:  # the policy set's admins ask why (governance/versions.py)
        data["version_comment"] = "a test change"
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def post_admin_form(client, url: str, **changes):
    response = client.post(url, admin_form_data(client, url, **changes))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    return response


def configuration_records(after: int = 0) -> list[AuditRecord]:
    """The configuration records after `after`, without the policy set versions' own records (each change of a
    policy, tool or domain default has one more: tests/governance/test_versions.py)."""
    return list(AuditRecord.objects.filter(kind="configuration", id__gt=after)
                .exclude(reason__startswith="policy set version “").order_by("id"))


def last_id() -> int:
    return AuditRecord.objects.order_by("-id").values_list("id", flat=True).first() or 0


def summary(record: AuditRecord) -> tuple:
    details = record.details_data
    return (record.actor, record.status, details["model"], details["object"], details["before"], details["after"])


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


@pytest.fixture
def policy(db):
    return Policy.objects.create(name="lookups", cedar=CEDAR)


@pytest.fixture
def lookup_tool(db):
    tool = ToolRegistration(name="lookup_order", callable_path="governance.demo_tools.lookup_order")
    tool.full_clean()
    tool.save()
    return tool


def test_tool_registered_in_admin_records_every_field(admin_client):
    mark = last_id()
    post_admin_form(admin_client, reverse("admin:governance_toolregistration_add"), name="lookup_order",
                    callable_path="governance.demo_tools.lookup_order")
    [record] = configuration_records(mark)
    tool = ToolRegistration.objects.get()
    assert summary(record) == ("admin", "created", "governance.ToolRegistration", "lookup_order", {}, {
        "name": "lookup_order", "callable_path": "governance.demo_tools.lookup_order",
        "description": "Look up an order's status (read-only).", "schema": tool.schema, "schema_override": None,
        "value_argument": "", "target_argument": "", "domain": "customer_transactions", "actor": "",
        "decision_mode": "submit", "approve_above": None, "block_above": None, "redact_fields": "", "enabled": True,
        "approvals_needed": 1, "approval_window_seconds": None, "escalation_group": None,
    })
    assert record.details_data["object_id"] == str(tool.pk)
    assert record.reason == "tool registration “lookup_order” created"


def test_policy_edited_in_admin_records_cedar_before_and_after(admin_client, lookup_tool, policy):
    mark = last_id()
    post_admin_form(admin_client, change_url(policy), cedar=NEW_CEDAR)
    [record] = configuration_records(mark)
    assert summary(record) == ("admin", "changed", "governance.Policy", "lookups", {"cedar": CEDAR},
                               {"cedar": NEW_CEDAR})
    assert record.reason == "policy “lookups” changed: cedar"


def test_admin_save_without_changes_records_nothing(admin_client, lookup_tool, policy):
    mark = last_id()
    post_admin_form(admin_client, change_url(policy))
    post_admin_form(admin_client, change_url(lookup_tool))
    assert configuration_records(mark) == []


def test_policy_with_invalid_cedar_refused_and_records_nothing(admin_client, lookup_tool, policy):
    mark = last_id()
    url = change_url(policy)
    response = admin_client.post(url, admin_form_data(admin_client, url, cedar="forbid(principal, action ==, x);"))
    assert response.status_code == 200 and "line 1" in response.content.decode()
    assert Policy.objects.get().cedar == CEDAR
    assert configuration_records(mark) == []


def test_policy_deleted_in_admin_records_what_it_was(admin_client, policy):
    mark = last_id()
    response = admin_client.post(reverse("admin:governance_policy_delete", args=[policy.pk]),
                                 {"post": "yes", "version_comment": "no longer needed"})
    assert response.status_code == 302 and Policy.objects.count() == 0
    [record] = configuration_records(mark)
    assert summary(record) == ("admin", "deleted", "governance.Policy", "lookups",
                               {"name": "lookups", "description": "", "cedar": CEDAR, "enabled": True,
                                "mode": "active"}, {})


def test_domain_default_changed_in_admin(admin_client):
    default = DomainDefault.objects.create(domain="customer_transactions", outcome="blocked")
    mark = last_id()
    post_admin_form(admin_client, change_url(default), outcome="requires_approval")
    [record] = configuration_records(mark)
    assert summary(record) == ("admin", "changed", "governance.DomainDefault",
                               "customer_transactions: requires_approval", {"outcome": "blocked"},
                               {"outcome": "requires_approval"})


def test_deny_reason_changed_in_admin_list(admin_client):
    reason = DenyReason.objects.create(text="Amount looks wrong", position=0)
    mark = last_id()
    response = admin_client.post(reverse("admin:approvals_denyreason_changelist"), {
        "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-MIN_NUM_FORMS": "0", "form-MAX_NUM_FORMS": "1000",
        "form-0-id": str(reason.pk), "form-0-active": "", "form-0-position": "3", "_save": "Save",
    })
    assert response.status_code == 302
    [record] = configuration_records(mark)
    assert summary(record) == ("admin", "changed", "approvals.DenyReason", "Amount looks wrong",
                               {"active": True, "position": 0}, {"active": False, "position": 3})


def test_user_added_to_group_in_admin(admin_client):
    user = make_user("olivia")
    group = Group.objects.create(name="reviewers")
    mark = last_id()
    post_admin_form(admin_client, change_url(user), groups=[str(group.pk)])
    [record] = configuration_records(mark)
    assert summary(record) == ("admin", "changed", "auth.User", "olivia", {"groups": []}, {"groups": ["reviewers"]})
    assert record.reason == "user “olivia” changed: groups"


def test_user_added_from_the_group_side_names_the_user():
    user, group = make_user("olivia"), Group.objects.create(name="reviewers")
    mark = last_id()
    group.user_set.add(user)
    group.user_set.clear()
    assert [summary(r) for r in configuration_records(mark)] == [
        ("system", "changed", "auth.User", "olivia", {"groups": []}, {"groups": ["reviewers"]}),
        ("system", "changed", "auth.User", "olivia", {"groups": ["reviewers"]}, {"groups": []}),
    ]


def test_password_changed_in_admin_stores_no_hash(admin_client):
    user = make_user("olivia")
    old_hash = user.password
    mark = last_id()
    response = admin_client.post(reverse("admin:auth_user_password_change", args=[user.pk]), {
        "password1": "a-new-secret-9", "password2": "a-new-secret-9", "usable_password": "true"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-new-secret-9")
    [record] = configuration_records(mark)
    assert summary(record) == ("admin", "changed", "auth.User", "olivia", {"password": "[secret]"},
                               {"password": "[secret]"})
    assert record.reason == "user “olivia” changed: password"
    # Neither hash, their salts or digests, nor the password appear in any record at all.
    secrets = [old_hash, user.password, "a-new-secret-9", "pw-olivia",
               *old_hash.split("$")[2:], *user.password.split("$")[2:]]
    for stored in AuditRecord.objects.values_list("details", "search_text", "reason"):
        assert [s for s in secrets if any(s in text for text in stored)] == []


def test_user_created_in_admin_stores_no_hash(admin_client):
    mark = last_id()
    response = admin_client.post(reverse("admin:auth_user_add"), {
        "username": "nina", "password1": "a-new-secret-9", "password2": "a-new-secret-9", "usable_password": "true"})
    assert response.status_code == 302
    [record] = configuration_records(mark)
    assert (record.actor, record.status, record.details_data["after"]["password"]) == ("admin", "created", "[secret]")
    assert User.objects.get(username="nina").password.split("$")[-1] not in record.details


def test_login_and_password_rehash_record_nothing(client):
    """A login saves last_login, and re-hashes a password made with a weaker hasher: neither is a change."""
    user = make_user("olivia")
    user.password = PBKDF2PasswordHasher().encode("pw-olivia", "somesalt", iterations=1000)
    user.save(update_fields=["password"])
    mark = last_id()
    response = client.post(reverse("login"), {"username": "olivia", "password": "pw-olivia"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.last_login is not None and "$1000$" not in user.password  # both were saved
    assert configuration_records(mark) == []


def test_configuration_records_keep_the_chain_intact(admin_client, lookup_tool, policy):
    post_admin_form(admin_client, change_url(policy), cedar=NEW_CEDAR)
    admin_client.post(reverse("admin:governance_policy_delete", args=[policy.pk]),
                                 {"post": "yes", "version_comment": "no longer needed"})
    assert seal() > 0
    records = list(AuditRecord.objects.order_by("seq"))
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    assert AuditChainHead.objects.get().seq == len(records)
    assert verify_chain().intact


def test_change_rolled_back_leaves_no_record(policy):
    count = AuditRecord.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        policy.cedar = NEW_CEDAR
        policy.save()
        raise RuntimeError("the rest of the change failed")
    assert AuditRecord.objects.count() == count
    assert Policy.objects.get().cedar == CEDAR


def test_seed_demo_records_name_system():
    seed_demo()
    records = configuration_records()
    assert {r.actor for r in records} == {"system"}
    assert {r.details_data["by"] for r in records} == {SYSTEM_NOTE}
    assert sorted({r.details_data["model"] for r in records}) == [
        "approvals.DenyReason", "auth.Group", "auth.User", "governance.DomainDefault", "governance.Policy",
        "governance.PolicyExample", "governance.ToolRegistration"]
    mark = last_id()
    seed_demo()  # idempotent: the same rows and passwords, so nothing changed
    assert configuration_records(mark) == []


@pytest.mark.parametrize(("name", "secret"), [
    ("password", True), ("secret_hash", True), ("key_hash", True), ("api_key", True), ("token", True),
    ("salt", True), ("name", False), ("description", False), ("tokenizer", False), ("monkey", False),
    ("redact_fields", False),
])
def test_secret_field_rule(name, secret):
    assert is_secret_field(name) is secret


def test_agent_key_secret_hash_is_never_stored():
    """The rule a future `agents.AgentKey` in GOVERNANCE_AUDITED_MODELS gets: its secret_hash stays out."""
    digest = "pbkdf2_sha256$1000000$c2FsdA$3q2+7w=="
    record = record_configuration_change(
        model_label="agents.AgentKey", object_id=1, object_repr="ci-agent", action="created", before={},
        after={"name": "ci-agent", "prefix": "ak_12", "secret_hash": digest}, by="admin")
    assert record.details_data["after"] == {"name": "ci-agent", "prefix": "ak_12", "secret_hash": "[secret]"}
    assert [digest in text for text in (record.details, record.search_text, record.reason)] == [False] * 3


def test_configuration_records_listed_and_found_at_audit(admin_client, lookup_tool, policy):
    post_admin_form(admin_client, change_url(policy), cedar=NEW_CEDAR, description="stop lookups overnight")
    listed = admin_client.get("/audit/", {"kind": "configuration"})
    html = listed.content.decode()
    assert listed.status_code == 200
    assert '<option value="configuration" selected>Configuration</option>' in html
    assert html.count('class="config-change"') == 1  # the policy change; the fixtures' creations are listed too
    assert "policy “lookups” changed: cedar, description" in html
    found = admin_client.get("/audit/", {"q": "overnight"}).content.decode()
    assert found.count("<tr>") - 1 == 1  # the header row and the one record
    assert "<code>description</code>: “” → “stop lookups overnight”" in found
    # The policy's two records, and the two policy set versions holding it (its creation and this change).
    assert admin_client.get("/audit/", {"q": "policy lookups cedar"}).content.decode().count("<tr>") - 1 == 4



def test_admin_change_whose_record_fails_is_not_made(admin_client, monkeypatch):
    """The password form is not one Django's admin wraps in a transaction; the change still waits for its record."""
    user = make_user("olivia")

    def broken_append(records):
        raise RuntimeError("the audit chain cannot be written")

    monkeypatch.setattr("audit.chain.append", broken_append)
    with pytest.raises(RuntimeError, match="cannot be written"):
        admin_client.post(reverse("admin:auth_user_password_change", args=[user.pk]), {
            "password1": "a-new-secret-9", "password2": "a-new-secret-9", "usable_password": "true"})
    user.refresh_from_db()
    assert user.check_password("pw-olivia")


@pytest.mark.django_db(transaction=True)
async def test_admin_change_over_asgi_names_the_user(async_client):
    """Production serves the admin over ASGI: the user still reaches the receivers from the sync view's thread."""
    admin = await sync_to_async(User.objects.create_superuser)("admin", password="pw-admin")
    default = await DomainDefault.objects.acreate(domain="payments", outcome="blocked")
    await async_client.aforce_login(admin)
    response = await async_client.post(change_url(default), {"domain": "payments", "outcome": "allowed",
                                                              "version_comment": "payments are trusted"})
    assert response.status_code == 302
    record = await AuditRecord.objects.filter(kind="configuration", reason__startswith="domain").alatest("id")
    assert (record.actor, record.details_data["after"]) == ("admin", {"outcome": "allowed"})
