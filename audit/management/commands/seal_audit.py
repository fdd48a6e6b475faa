"""`python manage.py seal_audit`: seal the committed unsealed audit records now, or keep doing so (`--follow`)."""

from __future__ import annotations

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from audit.chain import seal
from audit.sealer import seal_continuously


class Command(BaseCommand):
    help = ("Give every committed unsealed audit record its seq and hashes now, and print how many; with "
            "--follow, keep sealing every GOVERNANCE_AUDIT_SEAL_INTERVAL_MS until stopped (the sealer process).")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--follow", action="store_true",
                            help="keep sealing until SIGTERM or Ctrl-C (the Procfile's sealer process)")

    def handle(self, *args, **options) -> None:
        if not options["follow"]:
            self.stdout.write(f"sealed {seal():,} audit records")
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        interval = settings.GOVERNANCE_AUDIT_SEAL_INTERVAL_SECONDS
        self.stdout.write(f"sealing the audit chain every {interval:g} s", ending="\n")
        self.stdout.flush()
        sealed = seal_continuously(interval, stop)
        self.stdout.write(f"stopped after sealing {sealed:,} audit records")
