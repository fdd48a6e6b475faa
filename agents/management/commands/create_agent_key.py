"""`python manage.py create_agent_key --name NAME --actor ACTOR --domain D [--domain ...] [--role ...] [--user ...]`.

Creates an agent API key and prints its secret once, alone on the last line (so `| tail -1` gets it).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from agents.keys import create_key
from agents.models import AgentKeyRole


class Command(BaseCommand):
    help = "Create an API key for a remote agent (or an approver integration) and print its secret once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True, help="Who uses the key, e.g. the agent's service.")
        parser.add_argument("--actor", required=True, help="The actor every request of this key must name.")
        parser.add_argument("--domain", action="append", required=True, dest="domains",
                            help="A domain the key may act in; repeat for several.")
        parser.add_argument("--role", choices=AgentKeyRole.values, default=AgentKeyRole.AGENT)
        parser.add_argument("--user", help="Approver keys: the username of the dashboard user the key acts for.")

    def handle(self, *args, name: str, actor: str, domains: list[str], role: str, user: str | None, **options):
        account = None
        if user is not None:
            account = get_user_model().objects.filter(username=user).first()
            if account is None:
                raise CommandError(f"no dashboard user named {user!r}")
        try:
            key, secret = create_key(name=name, actor=actor, domains=domains, role=role, user=account)
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())
            raise CommandError(f"the key was not created: {problems}") from None
        self.stdout.write(f"Created {key.role} key {key.name!r} (gd_live_{key.prefix}_...) for actor {key.actor!r} "
                          f"in {', '.join(key.domains)}{f', acting for {user}' if user else ''}.")
        self.stdout.write("Its secret follows. It is shown only now: the dashboard keeps only a hash of it.")
        self.stdout.write(secret)
