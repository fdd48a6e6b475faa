"""Idempotency-Key: the same key and the same request get the same answer, and the work is done once.

The answer to a request sent with an Idempotency-Key is stored with a fingerprint of the request
(method, path and canonical body), per API key. The same Idempotency-Key again with the same request
replays the stored answer and changes nothing; with another request it is refused (409). Only
successful answers are stored: a refused request changes nothing, so sending it again is not a replay.

Two identical requests at once: both may do the work, but the answer and its side effects commit in
one transaction with the Idempotency-Key's row, whose unique constraint lets only one commit; the
other is rolled back and answers with what the first stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction

from .models import AgentKey, IdempotentRequest


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before for another request (HTTP 409)."""


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method.upper(), path, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def once(*, key: AgentKey, idempotency_key: str | None, fingerprint: str, work: Callable[[], Any]) -> Any:
    """`work()`'s answer, or the answer stored for this Idempotency-Key when the request is the same one.

    Side effects: those of `work()` and one IdempotentRequest row, in one transaction; none on a replay.
    Raises IdempotencyConflict when the key was used for another request.
    """
    if idempotency_key is None:
        return work()
    stored = _stored(key, idempotency_key, fingerprint)
    if stored is not None:
        return stored
    try:
        with transaction.atomic():
            answer = work()
            IdempotentRequest.objects.create(key=key, idempotency_key=idempotency_key, fingerprint=fingerprint,
                                             status_code=200, response=answer)
    except IntegrityError:
        stored = _stored(key, idempotency_key, fingerprint)
        if stored is None:
            raise
        return stored
    return answer


def _stored(key: AgentKey, idempotency_key: str, fingerprint: str) -> Any:
    row = IdempotentRequest.objects.filter(key=key, idempotency_key=idempotency_key).first()
    if row is None:
        return None
    if row.fingerprint != fingerprint:
        raise IdempotencyConflict(f"Idempotency-Key {idempotency_key!r} was already used for another request")
    return row.response
