"""The per-key rate limit of the agents' API: a django-ninja throttle over a fixed-window counter.

At most `GOVERNANCE_API_RATE_LIMIT_PER_MINUTE` requests per API key in each clock minute (0: no
limit); above it, 429 with Retry-After (the seconds left in the minute; ninja sets the header from
`wait()`). The count is one atomic increment in Django's cache (Redis INCR in every real deployment,
shared by all web processes), the algorithm django-ratelimit uses. Not ninja's own `AuthRateThrottle`:
it reads and rewrites a list of timestamps per key, so concurrent requests in several processes
overwrite each other's counts. Not django-ratelimit itself: its system checks refuse the in-process
cache the tests use and warn on Django's built-in Redis cache, for what is two cache calls here.

If the cache cannot be reached the request is let through (logged): decisions must not stop with Redis.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache
from ninja.throttling import BaseThrottle
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
WINDOW_SECONDS = 60


class PerKeyRateLimit(BaseThrottle):
    def __init__(self) -> None:
        # One throttle object serves every request: what `wait()` reports belongs to the request this
        # thread is checking (ninja calls allow_request, then wait, in the same thread).
        self._local = threading.local()

    def allow_request(self, request) -> bool:
        limit = settings.GOVERNANCE_API_RATE_LIMIT_PER_MINUTE
        key = getattr(request, "auth", None)
        if limit <= 0 or key is None:
            return True
        now = time.time()
        window = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
        counter = f"agents:rate:{key.pk}:{window}"
        try:
            cache.add(counter, 0, timeout=WINDOW_SECONDS + 5)
            try:
                count = cache.incr(counter)
            except ValueError:  # the counter expired between add and incr
                cache.set(counter, 1, timeout=WINDOW_SECONDS + 5)
                count = 1
        except (RedisError, OSError) as exc:
            logger.warning("rate limit not applied: the cache is unreachable (%s)", exc)
            return True
        self._local.wait = window + WINDOW_SECONDS - now
        return count <= limit

    def wait(self) -> float | None:
        return getattr(self._local, "wait", None)
