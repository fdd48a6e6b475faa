"""Login throttling at both login doors: failures lock a username and an address out for a while, with
a page that says so and how long; each refused login is in the audit history; an admin can unlock."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.http import HttpRequest
from django.test import AsyncClient, Client

from audit.models import AuditRecord
from tests.factories import make_user

pytestmark = pytest.mark.django_db

DOORS = ["/accounts/login/", "/admin/login/"]
LIMIT = 5  # AXES_FAILURE_LIMIT's default
LOCKED = "Too many failed logins"
WAIT = "Try again in 15 minutes."  # AXES_COOLOFF_MINUTES's default


@pytest.fixture
def staff(db):
    return make_user("sam", staff=True)  # password "pw-sam"; staff, so the admin's login accepts it


def _login(client: Client, door: str, username: str, password: str, address: str = "10.0.0.1"):
    return client.post(door, {"username": username, "password": password}, REMOTE_ADDR=address)


def _fail(client: Client, door: str, username: str, times: int, address: str = "10.0.0.1") -> list[int]:
    return [_login(client, door, username, "wrong", address).status_code for _ in range(times)]


def _logged_in_as(client: Client) -> str | None:
    response = client.get("/runs/")
    return response.context["user"].get_username() if response.status_code == 200 else None


@pytest.mark.parametrize("door", DOORS)
def test_login_failure_limit_locks_out_with_message_and_wait(client, staff, door):
    assert _fail(client, door, "sam", LIMIT - 1) == [200] * (LIMIT - 1)  # the form again, with its error
    response = _login(client, door, "sam", "wrong")
    body = response.content.decode()
    assert response.status_code == 429
    assert LOCKED in body and WAIT in body
    assert "After 5 failed logins for “sam” or from your address" in body
    assert 'href="/static/css/app.css"' in body  # the site's styled page, not a bare text


@pytest.mark.parametrize("door", DOORS)
def test_login_right_password_refused_while_locked_out(client, staff, door):
    _fail(client, door, "sam", LIMIT)
    response = _login(client, door, "sam", "pw-sam")
    assert response.status_code == 429
    assert WAIT in response.content.decode()
    assert _logged_in_as(client) is None


def test_login_lockout_counts_one_username_across_addresses_and_both_doors(client, staff):
    _fail(client, "/accounts/login/", "sam", 3, address="10.0.0.1")
    _fail(client, "/admin/login/", "sam", 2, address="10.0.0.2")
    assert _login(client, "/accounts/login/", "sam", "pw-sam", address="10.0.0.3").status_code == 429


def test_login_lockout_counts_one_address_across_usernames(client, staff):
    for name in ("alice", "bob", "carol", "dave", "erin"):
        _fail(client, "/accounts/login/", name, 1, address="10.0.0.9")
    assert _login(client, "/accounts/login/", "sam", "pw-sam", address="10.0.0.9").status_code == 429
    # sam himself never failed: from another address he logs in
    assert _login(client, "/accounts/login/", "sam", "pw-sam", address="10.0.0.10").status_code == 302
    assert _logged_in_as(client) == "sam"


def test_login_of_another_account_between_guesses_does_not_reset_the_count(client, staff):
    make_user("mallory")
    _fail(client, "/accounts/login/", "sam", LIMIT - 1)
    assert _login(client, "/accounts/login/", "mallory", "pw-mallory").status_code == 302
    client.logout()
    assert _login(client, "/accounts/login/", "sam", "wrong").status_code == 429


def test_login_failures_and_lockouts_are_audit_records(client, staff):
    _fail(client, "/accounts/login/", "sam", LIMIT - 1)
    _fail(client, "/admin/login/", "sam", 1)  # the fifth: locks out
    _login(client, "/accounts/login/", "sam", "pw-sam")  # refused while locked out
    # Only the login records: creating the users also wrote configuration records.
    logins = AuditRecord.objects.filter(kind="access").order_by("id")
    records = list(logins.values_list("kind", "status", "actor", "details"))
    failed = ("access", "login_failed", "sam")
    locked = ("access", "locked_out", "sam")
    # django-axes signals the lockout while it handles the failure, so the lockout comes first
    assert [r[:3] for r in records] == [failed] * (LIMIT - 1) + [locked, failed] * 2
    assert [r[3] for r in records[LIMIT - 1:LIMIT + 1]] == [
        '{"ip_address":"10.0.0.1","path":"/admin/login/","username":"sam"}',
    ] * 2
    first = logins.first()
    assert first.reason == "Failed login: username 'sam' from 10.0.0.1 on /accounts/login/"


def test_login_audit_records_are_found_by_the_access_kind_on_the_audit_page(client, staff):
    _fail(client, "/accounts/login/", "sam", 2)
    auditor = make_user("ada", reviewer=True)
    client.force_login(auditor)
    response = client.get("/audit/", {"kind": "access"})
    assert response.status_code == 200
    assert response.content.decode().count("Failed login: username &#x27;sam&#x27; from 10.0.0.1") == 2


def test_admin_unlocks_by_deleting_the_access_attempts_in_the_admin(client, admin_client, staff):
    _fail(client, "/accounts/login/", "sam", LIMIT)
    changelist = admin_client.get("/admin/axes/accessattempt/")
    assert changelist.status_code == 200
    assert "sam" in changelist.content.decode()
    attempt = AccessAttempt.objects.get(username="sam")
    response = admin_client.post("/admin/axes/accessattempt/", {
        "action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes",
    })
    assert response.status_code == 302
    assert AccessAttempt.objects.count() == 0
    assert _login(client, "/accounts/login/", "sam", "pw-sam").status_code == 302
    assert _logged_in_as(client) == "sam"


def test_axes_reset_username_command_unlocks(client, staff):
    _fail(client, "/accounts/login/", "sam", LIMIT)
    call_command("axes_reset_username", "sam")
    assert _login(client, "/accounts/login/", "sam", "pw-sam").status_code == 302


@pytest.mark.django_db(transaction=True)  # the async client's views run in another thread: no shared transaction
async def test_login_lockout_page_on_the_asgi_stack(staff):
    """The ASGI server runs the middleware chain asynchronously, where django-axes builds its page
    another way: the same page and status there."""
    client = AsyncClient()
    for _ in range(LIMIT - 1):
        await client.post("/accounts/login/", {"username": "sam", "password": "wrong"})
    response = await client.post("/accounts/login/", {"username": "sam", "password": "wrong"})
    body = response.content.decode()
    assert response.status_code == 429
    assert LOCKED in body and WAIT in body
    assert "for “sam”" in body


def test_client_login_passes_the_request_django_axes_needs(client, staff):
    """`client.force_login` needs nothing; `client.login` must hand django-axes a request."""
    assert client.login(request=HttpRequest(), username="sam", password="pw-sam") is True
    assert _logged_in_as(client) == "sam"

