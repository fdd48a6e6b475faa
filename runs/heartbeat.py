"""The heartbeat of a run being driven: a daemon thread renewing `Run.heartbeat_at`.

While a worker holds a run (from its claim until it stops), `Heartbeat(run_id, claim_id)` writes
`heartbeat_at = now()` every GOVERNANCE_RUN_HEARTBEAT_SECONDS with one plain UPDATE, from its own
thread and so its own database connection, which it closes when it stops. The beat goes on while
the worker waits on the model or sits inside a tool; it stops with the process, which is how
`runs.recovery` tells a dead worker from a slow one. The UPDATE matches only the claim it was
started for: once the run is finished, cancelled or taken over, there is nothing left to renew.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from .models import Run

logger = logging.getLogger(__name__)


class Heartbeat:
    """Context manager: beats for `claim_id` on `run_id` from enter to exit."""

    def __init__(self, run_id, claim_id, *, interval: float | None = None) -> None:
        self.run_id = run_id
        self.claim_id = claim_id
        self.interval = float(interval if interval is not None else settings.GOVERNANCE_RUN_HEARTBEAT_SECONDS)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"run-heartbeat-{str(run_id)[:8]}", daemon=True
        )

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        # A beat stuck on a slow database must not hold the worker; the thread is a daemon and
        # closes its connection itself once its UPDATE returns.
        self._thread.join(timeout=self.interval)

    def _beat(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    close_old_connections()
                    renewed = Run.objects.held_by(self.run_id, self.claim_id, running=True).update(
                        heartbeat_at=timezone.now()
                    )
                except Exception:
                    # The next beat tries again; if none gets through, the run is recovered.
                    logger.warning("could not renew the heartbeat of run %s", self.run_id, exc_info=True)
                    continue
                if renewed != 1:
                    return  # the run finished, was cancelled or was taken over: nothing to keep alive
        finally:
            connection.close()
