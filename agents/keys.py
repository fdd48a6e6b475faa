"""Agent API keys: issuing one (its secret shown once), authenticating a secret, revoking, and scope.

A secret reads `gd_live_<prefix>_<43 characters>`: the prefix (8 hex characters) is stored in clear
to find the key and to recognise it in lists; the rest is 32 random bytes. Only the SHA-256 of the
whole secret is stored and compared in constant time. A fast unsalted hash is the standard for
high-entropy API keys: a salt or a slow hash only protects guessable inputs, and 256 random bits are
not guessable; an HMAC keyed with SECRET_KEY would make every key die with a SECRET_KEY rotation.

Revocation and expiry are read from the database on every request (one indexed SELECT), so a revoked
key stops working at its next request. `last_used_at` is written at most once a minute per key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.recorders import record_configuration_change

from .models import AgentKey, AgentKeyRole

SECRET_PREFIX = "gd_live_"
_PREFIX_CHARS = 8
# What issue_secret makes; anything else is refused before the database is asked (PostgreSQL would
# fail on a NUL character in the lookup rather than find nothing).
_SECRET_SHAPE = re.compile(r"gd_live_([0-9a-f]{8})_[A-Za-z0-9_-]{43}")
LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class KeyRefused:
    """Why a secret does not authenticate; `key` is the key it names when there is one (revoked, expired)."""

    reason: str
    key: AgentKey | None = None


class OutOfScope(Exception):
    """A request names an actor or a domain its key is not bound to (HTTP 403)."""

    def __init__(self, message: str, *, actor: str = "", domain: str = "") -> None:
        super().__init__(message)
        self.actor, self.domain = actor, domain


class DomainRequired(Exception):
    """A request names no domain and its key is bound to several (HTTP 422 on the `domain` field)."""


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_secret(key: AgentKey) -> str:
    """Give an unsaved key a fresh prefix and secret hash; returns the secret (it is not stored anywhere)."""
    prefix = secrets.token_hex(_PREFIX_CHARS // 2)
    while AgentKey.objects.filter(prefix=prefix).exists():
        prefix = secrets.token_hex(_PREFIX_CHARS // 2)
    secret = f"{SECRET_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key.prefix, key.secret_hash = prefix, hash_secret(secret)
    return secret


def create_key(
    *, name: str, actor: str, domains: list[str], role: str = AgentKeyRole.AGENT, user=None, created_by=None,
    expires_at: datetime | None = None,
) -> tuple[AgentKey, str]:
    """Create a key and return it with its secret, which exists only in this return value.

    Side effects: one AgentKey row. Raises ValidationError (naming the field) for a bad name, actor,
    domain list, or role/user pair.
    """
    key = AgentKey(name=name, actor=actor, domains=list(domains), role=role, user=user, created_by=created_by,
                   expires_at=expires_at)
    secret = issue_secret(key)
    key.full_clean()
    key.save()
    return key, secret


def authenticate(secret: str | None, *, now: datetime | None = None) -> AgentKey | KeyRefused:
    """The usable key this secret belongs to, or why it is refused.

    Side effects: sets the key's `last_used_at` when it is unset or older than a minute (a conditional
    UPDATE, so concurrent requests write it once).
    """
    if not secret:
        return KeyRefused("no API key: send it in the X-API-Key header")
    shape = _SECRET_SHAPE.fullmatch(secret)
    if shape is None:
        return KeyRefused("invalid API key")
    key = AgentKey.objects.filter(prefix=shape.group(1)).first()
    if key is None or not hmac.compare_digest(key.secret_hash, hash_secret(secret)):
        return KeyRefused("invalid API key")
    now = now or timezone.now()
    if key.revoked_at is not None:
        return KeyRefused("API key revoked", key)
    if key.expires_at is not None and key.expires_at <= now:
        return KeyRefused("API key expired", key)
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_PRECISION:
        AgentKey.objects.filter(pk=key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_PRECISION)
        ).update(last_used_at=now)
        key.last_used_at = now
    return key


def revoke_key(*, key: AgentKey, by=None, now: datetime | None = None) -> bool:
    """Revoke a key; True if this call revoked it, False if it already was.

    Side effects: sets revoked_at and revoked_by (a conditional UPDATE: a second revocation keeps the
    first) and, in the same transaction, a configuration audit record naming who revoked it (an UPDATE
    sends no save signal, so the record is written here).
    """
    now = now or timezone.now()
    with transaction.atomic():
        changed = AgentKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now, revoked_by=by)
        if changed:
            key.revoked_at, key.revoked_by = now, by
            record_configuration_change(
                model_label="agents.AgentKey", model_name="agent key", object_id=key.pk, object_repr=str(key),
                action="changed", before={"revoked_at": None}, after={"revoked_at": now.isoformat()},
                by=by.get_username() if by is not None else "",
            )
    return bool(changed)


def bound_scope(key: AgentKey, *, actor: str | None, domain: str | None) -> tuple[str, str]:
    """The actor and domain a request acts as: what it names, which must be the key's own.

    An omitted actor is the key's; an omitted domain is the key's only domain. Raises OutOfScope
    (403) for another actor or domain, DomainRequired when the domain is omitted and the key has several.
    """
    actor = key.actor if actor is None else actor
    if actor != key.actor:
        raise OutOfScope(f"this API key acts as actor {key.actor!r}, not {actor!r}", actor=actor, domain=domain or "")
    if domain is None:
        if len(key.domains) != 1:
            raise DomainRequired(f"name the domain: this API key may act in {', '.join(key.domains)}")
        domain = key.domains[0]
    if domain not in key.domains:
        raise OutOfScope(f"this API key may not act in domain {domain!r} (its domains: {', '.join(key.domains)})",
                         actor=actor, domain=domain)
    return actor, domain
