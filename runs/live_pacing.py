"""Pacing of one socket's live updates: at most one render per interval, however many nudges.

`Paced(send, interval)`: `nudge()` asks for an update. The first nudge after a quiet spell is sent at
once (as soon as the consumer's current message is handled); the ones that follow within `interval`
of the last update are folded into one update at the end of that interval. An update reads
everything new since the page's last one, so folding nudges loses nothing, and a nudge that arrives
while an update is being read asks for one more.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)


class Paced:
    def __init__(self, send: Callable[[], Awaitable[None]], interval: float) -> None:
        self._send, self.interval = send, interval
        self._wanted = False
        self._task: asyncio.Task | None = None
        self._last = float("-inf")

    def nudge(self) -> None:
        self._wanted = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        while self._wanted:
            wait = self._last + self.interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._wanted = False
            self._last = time.monotonic()
            try:
                await self._send()
            except Exception:
                # Not the consumer's own message: nothing would report it. The page catches up at its
                # next hello (every 5 s) or the next nudge.
                logger.exception("a live update failed")
