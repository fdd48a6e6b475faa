"""Recording what the agents' API refused: one audit record per refusal, and nothing else.

A refused request changes nothing but this record. Two kinds of refusal can come in floods that
nothing else bounds: a wrong key (401, before any key is known) and a key over its rate limit (429).
Writing one audit record per such request would turn a flood into writes on the audit chain, so for
those the first refusal per client (or key) and reason in each minute is recorded, saying so; the
others are answered the same way and not recorded.
"""

from __future__ import annotations

import hashlib
import logging

from django.core.cache import cache
from redis.exceptions import RedisError

from audit import recorders

logger = logging.getLogger(__name__)
FLOOD_WINDOW_SECONDS = 60


def record_refusal(request, *, status: int, reason: str, actor: str = "", domain: str = "", tool: str = "",
                   key=None, flood: bool = False) -> None:
    """Append the audit record of a refusal of `request` (the key is `key`, else the request's, if any).

    `flood`: record only the first such refusal per client or key, reason and minute.
    """
    key = key if key is not None else getattr(request, "auth", None)
    client = request.META.get("REMOTE_ADDR", "")
    if flood:
        if not _first_in_window(f"agents:refused:{key.pk if key else client}:{status}:{_digest(reason)}"):
            return
        reason = f"{reason} (further refusals like this one within {FLOOD_WINDOW_SECONDS} s are not recorded)"
    recorders.record_api_refusal(
        status=status, reason=reason, method=request.method, path=request.path, key_name=key.name if key else "",
        key_prefix=key.prefix if key else "", actor=actor or (key.actor if key else ""), domain=domain, tool=tool,
        client=client,
    )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _first_in_window(name: str) -> bool:
    try:
        return cache.add(name, 1, timeout=FLOOD_WINDOW_SECONDS)
    except (RedisError, OSError) as exc:
        logger.warning("recording a refusal without flood control: the cache is unreachable (%s)", exc)
        return True
