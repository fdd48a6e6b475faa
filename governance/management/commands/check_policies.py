"""`manage.py check_policies`: decide every policy example with the active policy set; exit 1 if one fails.

Run by `python3 dev.py test` (and so by CI) after the migrations check. A database not migrated yet
holds no examples: that is said, and is not a failure.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from governance import policy_examples
from governance.models import PolicyExample


class Command(BaseCommand):
    help = "Decide every policy example with the active policy set; print each failure and exit 1 if any fails."

    def handle(self, *args, **options) -> None:
        if PolicyExample._meta.db_table not in connection.introspection.table_names():
            self.stdout.write("No policy examples: the database is not migrated yet (manage.py migrate).")
            return
        total = PolicyExample.objects.count()
        if total == 0:
            self.stdout.write("No policy examples to check (add them in the admin: Governance, Policy examples).")
            return
        try:
            failed = policy_examples.failures()
        except ValueError as exc:  # PolicyError: an enabled policy does not load
            raise CommandError(f"The active policy set does not load: {exc}") from exc
        for failure in failed:
            self.stderr.write(f"FAIL {failure}")
        if failed:
            raise CommandError(f"{len(failed)} of {total} policy examples fail with the active policy set.")
        self.stdout.write(self.style.SUCCESS(f"All {total} policy examples get their outcomes."))
