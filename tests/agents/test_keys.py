"""Agent keys: only a hash is stored, and a secret authenticates until it is revoked or expires."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from agents.keys import KeyRefused, authenticate, revoke_key
from agents.models import AgentKey
from tests.factories import make_agent_key, make_user

pytestmark = pytest.mark.django_db


def test_create_key_stores_only_the_hash_of_its_secret():
    key, secret = make_agent_key()
    stored = AgentKey.objects.values().get(pk=key.pk)
    assert secret.startswith(f"gd_live_{key.prefix}_")
    assert len(secret) == 60
    assert stored["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert [name for name, value in stored.items() if secret in str(value)] == []


def test_authenticate_accepts_the_secret_of_a_usable_key():
    key, secret = make_agent_key()
    assert authenticate(secret) == key


@pytest.mark.parametrize("secret", [None, "", "gd_live_", "sk-not-ours", "x" * 60])
def test_authenticate_refuses_what_is_not_a_key(secret):
    make_agent_key()
    result = authenticate(secret)
    assert isinstance(result, KeyRefused)
    assert result.key is None


def test_authenticate_refuses_a_malformed_secret_without_asking_the_database(django_assert_num_queries):
    _, secret = make_agent_key()
    for malformed in (secret[:8] + "\x00" + secret[9:], secret[:-1] + "!", secret.upper(), secret + "a"):
        with django_assert_num_queries(0):
            assert authenticate(malformed) == KeyRefused("invalid API key")


def test_authenticate_refuses_a_wrong_secret_with_a_known_prefix():
    _, secret = make_agent_key()
    forged = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert authenticate(forged) == KeyRefused("invalid API key")


def test_authenticate_refuses_a_revoked_key():
    key, secret = make_agent_key()
    assert revoke_key(key=key) is True
    assert authenticate(secret) == KeyRefused("API key revoked", key)


def test_authenticate_refuses_an_expired_key():
    key, secret = make_agent_key(expires_at=timezone.now() - timedelta(seconds=1))
    assert authenticate(secret) == KeyRefused("API key expired", key)


def test_revoke_key_keeps_the_first_revocation():
    key, _ = make_agent_key()
    first, second = make_user("ann"), make_user("bob")
    assert revoke_key(key=key, by=first) is True
    assert revoke_key(key=key, by=second) is False
    key.refresh_from_db()
    assert key.revoked_by == first


def test_authenticate_writes_last_used_at_most_once_a_minute(django_assert_num_queries):
    key, secret = make_agent_key()
    now = timezone.now()
    with django_assert_num_queries(2):  # the lookup, then last_used_at
        authenticate(secret, now=now)
    with django_assert_num_queries(1):
        authenticate(secret, now=now + timedelta(seconds=59))
    with django_assert_num_queries(2):
        authenticate(secret, now=now + timedelta(seconds=61))
    key.refresh_from_db()
    assert key.last_used_at == now + timedelta(seconds=61)


@pytest.mark.parametrize(("options", "field"), [
    ({"domains": []}, "domains"),
    ({"domains": ["a", "a"]}, "domains"),
    ({"role": "approver"}, "user"),
])
def test_create_key_refuses_an_incomplete_key(options, field):
    with pytest.raises(ValidationError) as refused:
        make_agent_key(**options)
    assert list(refused.value.message_dict) == [field]
    assert AgentKey.objects.count() == 0


def test_create_key_refuses_a_user_on_an_agent_key():
    with pytest.raises(ValidationError) as refused:
        make_agent_key(user=make_user("ann"))
    assert list(refused.value.message_dict) == ["user"]


def test_key_creation_and_revocation_are_configuration_records_without_the_secret():
    from audit.models import AuditKind, AuditRecord

    admin = make_user("ada", staff=True)
    key, secret = make_agent_key()
    assert revoke_key(key=key, by=admin) is True
    records = list(AuditRecord.objects.filter(kind=AuditKind.CONFIGURATION, details__contains='"agents.AgentKey"')
                   .order_by("id"))
    assert [(r.status, r.actor) for r in records] == [("created", "system"), ("changed", "ada")]
    created, revoked = (r.details_data for r in records)
    assert created["after"]["secret_hash"] == "[secret]"
    assert list(revoked["after"]) == ["revoked_at"]
    assert [r.id for r in records if secret in r.details or key.secret_hash in r.details] == []
