"""`python manage.py create_agent_key`: the key is created and its secret printed once, alone on the last line."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from agents.keys import authenticate
from agents.models import AgentKey
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def run(*args: str) -> list[str]:
    out = StringIO()
    call_command("create_agent_key", *args, stdout=out)
    return out.getvalue().splitlines()


def test_create_agent_key_prints_the_secret_alone_on_the_last_line():
    lines = run("--name", "billing-agent", "--actor", "AI_AGENT_001", "--domain", "customer_transactions",
                "--domain", "billing")
    key = AgentKey.objects.get()
    assert authenticate(lines[-1]) == key
    assert lines[-1].strip() == lines[-1]
    assert all(lines[-1] not in line for line in lines[:-1])
    assert (key.name, key.actor, key.domains, key.role, key.user) == (
        "billing-agent", "AI_AGENT_001", ["customer_transactions", "billing"], "agent", None)


def test_create_agent_key_makes_an_approver_key_for_a_user():
    rita = make_user("rita", reviewer=True)
    lines = run("--name", "pager", "--actor", "oncall", "--domain", "customer_transactions", "--role", "approver",
                "--user", "rita")
    assert (authenticate(lines[-1]).role, authenticate(lines[-1]).user) == ("approver", rita)


@pytest.mark.parametrize(("extra", "message"), [
    (["--role", "approver"], "the key was not created: user: An approver key acts for a dashboard user: choose one."),
    (["--role", "approver", "--user", "nobody"], "no dashboard user named 'nobody'"),
])
def test_create_agent_key_refuses_an_incomplete_key(extra, message):
    with pytest.raises(CommandError) as refused:
        run("--name", "pager", "--actor", "oncall", "--domain", "customer_transactions", *extra)
    assert str(refused.value) == message
    assert AgentKey.objects.count() == 0
