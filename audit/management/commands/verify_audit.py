"""`python manage.py verify_audit`: walk the audit hash chain and name the first broken record."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from audit.chain import verify_chain


class Command(BaseCommand):
    help = "Check the audit history's hash chain; exits 1 naming the first altered, removed or inserted record."

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()
        report = verify_chain(progress=lambda n: self.stderr.write(f"  checked {n:,} records"))
        elapsed = time.perf_counter() - started
        if not report.intact:
            raise CommandError(f"audit chain BROKEN after {report.checked:,} good records: {report.problem}")
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {report.checked:,} records in {elapsed:.1f} s"))
