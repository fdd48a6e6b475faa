"""`manage.py seed_demo`: the demo users, tools, policies and their examples, deny reasons (idempotent)."""

from django.core.management.base import BaseCommand

from approvals.demo_data import seed_demo


class Command(BaseCommand):
    help = "Create or refresh the demo users, tools, policies and deny reasons."

    def handle(self, *args, **options) -> None:
        passwords = seed_demo()
        for username, password in passwords.items():
            self.stdout.write(f"  {username:<9} password: {password}")
