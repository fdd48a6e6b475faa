"""`python manage.py catch_up_insights`: fold every sealed audit record not yet in the insights rollups.

The page folds what is new on each view; this does the first fold of a long history (or after a restore)."""

from django.core.management.base import BaseCommand

from insights import rollup


class Command(BaseCommand):
    help = "Fold every sealed audit record not yet counted into the insights rollups."

    def handle(self, *args, **options):
        read = rollup.catch_up(most=None, wait=True)
        self.stdout.write(f"{read} audit records folded; the rollups include audit #{rollup.watermark()}.")
