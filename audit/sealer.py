"""The sealer process: seals the audit chain every GOVERNANCE_AUDIT_SEAL_INTERVAL_SECONDS until stopped.

It runs as a process of its own (`python manage.py seal_audit --follow`: the Procfile's `sealer`,
started by `dev.py start` and the production harness), not as a task in the workers' queues: there
it waited behind the runs the workers were driving (3.2 s behind a 10-run load on the embedded
profile, against a 1 s promise). More than one may run: `chain.seal` lets one seal at a time.
A database that goes away (a restart, a failover) is waited for, not fatal.
"""

from __future__ import annotations

import logging
import threading

from django.db import DatabaseError, connection

from . import chain

logger = logging.getLogger(__name__)


def seal_continuously(interval_seconds: float, stop: threading.Event) -> int:
    """Seal, then wait `interval_seconds`, until `stop` is set; return how many records were sealed."""
    total = 0
    while not stop.is_set():
        try:
            total += chain.seal()
        except DatabaseError:
            logger.warning("could not seal the audit chain; trying again", exc_info=True)
            connection.close()  # a new connection on the next round
        stop.wait(interval_seconds)
    return total
