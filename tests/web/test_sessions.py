"""Sessions end after an hour without a request, and eight hours after their login whatever happens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session

from web.sessions import SessionStore

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _log_in(client, user) -> None:
    response = client.post("/accounts/login/", {"username": user.username, "password": f"pw-{user.username}"})
    assert response.status_code == 302


def _logged_in_after(clock, client, *minutes: int) -> list[bool]:
    """For each wait in turn: wait that many minutes, then ask for a page; was it shown (not the login)?"""
    shown = []
    for wait in minutes:
        clock.shift(timedelta(minutes=wait))
        response = client.get("/runs/")
        assert response.status_code in (200, 302)
        shown.append(response.status_code == 200)
    return shown


def test_session_defaults_are_an_hour_idle_and_eight_hours_in_all(settings):
    assert (settings.SESSION_COOKIE_AGE, settings.SESSION_MAX_AGE_SECONDS) == (3600, 8 * 3600)


def test_session_cookie_of_a_login_lasts_the_idle_timeout(client, operator):
    with time_machine.travel(START, tick=False):
        response = client.post("/accounts/login/", {"username": "olivia", "password": "pw-olivia"})
        assert response.cookies["sessionid"]["max-age"] == 3600
        assert Session.objects.get().expire_date == START + timedelta(hours=1)


def test_session_ends_after_the_idle_timeout_without_a_request(client, operator):
    with time_machine.travel(START, tick=False) as clock:
        _log_in(client, operator)
        # each request starts the hour again; then an hour and a minute without one
        assert _logged_in_after(clock, client, 50, 50, 61) == [True, True, False]


def test_session_ends_eight_hours_after_login_even_when_active(client, operator):
    with time_machine.travel(START, tick=False) as clock:
        _log_in(client, operator)
        assert _logged_in_after(clock, client, *[30] * 15) == [True] * 15  # a request every 30 minutes
        assert Session.objects.get().expire_date == START + timedelta(hours=8)
        assert _logged_in_after(clock, client, 29, 2) == [True, False]


def test_session_limits_follow_the_settings(client, operator, settings):
    settings.SESSION_COOKIE_AGE, settings.SESSION_MAX_AGE_SECONDS = 600, 1800
    with time_machine.travel(START, tick=False) as clock:
        _log_in(client, operator)
        assert _logged_in_after(clock, client, 11) == [False]
        _log_in(client, operator)
        assert _logged_in_after(clock, client, 9, 9, 9, 4) == [True, True, True, False]


def test_session_from_before_these_limits_gets_them_at_its_next_request(client, operator):
    with time_machine.travel(START, tick=False) as clock:
        _log_in(client, operator)
        stored = Session.objects.get()
        data = stored.get_decoded()
        del data["_login_at"], data["_seen_at"]  # as a login before this release left it: 14 days
        Session.objects.filter(pk=stored.pk).update(
            session_data=SessionStore().encode(data), expire_date=START + timedelta(days=14),
        )
        assert _logged_in_after(clock, client, 10) == [True]
        assert Session.objects.get().expire_date == START + timedelta(minutes=70)
        assert _logged_in_after(clock, client, 61) == [False]
