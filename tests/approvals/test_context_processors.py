"""The pending count in every page's nav counts exactly the requests that user's approvals queue lists."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.factories import make_user, start_run_now

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _demo(demo_tools_registered):
    pass


def _nav_count(body: str) -> int:
    return int(re.search(r'<span id="pending-count"[^>]*>(\d+)</span>', body).group(1))


def _paused_runs_of(owner, count: int) -> None:
    for number in range(count):
        start_run_now(owner, f"Refund order ord_{number} for 250")


def test_nav_count_of_an_operator_leaves_out_requests_on_other_peoples_runs(client):
    _paused_runs_of(make_user("owen"), 2)
    client.force_login(make_user("olivia"))

    body = client.get(reverse("approvals:queue")).content.decode()

    assert body.count("review</a>") == 0
    assert _nav_count(body) == 0


def test_nav_count_of_an_operator_counts_the_requests_on_their_own_runs(client):
    operator = make_user("olivia")
    _paused_runs_of(make_user("owen"), 2)
    _paused_runs_of(operator, 1)
    client.force_login(operator)

    body = client.get(reverse("approvals:queue")).content.decode()

    assert body.count("review</a>") == 1
    assert _nav_count(body) == 1


def test_nav_count_of_a_reviewer_counts_every_pending_request(client):
    _paused_runs_of(make_user("owen"), 2)
    client.force_login(make_user("rita", reviewer=True))

    body = client.get(reverse("runs:list")).content.decode()

    assert _nav_count(body) == 2
