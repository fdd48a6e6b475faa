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


def _still_logged_in(client) -> bool:
    response = client.get("/runs/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


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
        clock.shift(timedelta(minutes=50))
        assert _still_logged_in(client)  # activity: the hour starts again
        clock.shift(timedelta(minutes=50))
        assert _still_logged_in(client)
        clock.shift(timedelta(minutes=61))
        assert not _still_logged_in(client)


def test_session_ends_eight_hours_after_login_even_when_active(client, operator):
    with time_machine.travel(START, tick=False) as clock:
        _log_in(client, operator)
        for _ in range(15):  # a request every 30 minutes: never idle
            clock.shift(timedelta(minutes=30))
            assert _still_logged_in(client)
        assert Session.objects.get().expire_date == START + timedelta(hours=8)
        clock.shift(timedelta(minutes=29))
        assert _still_logged_in(client)
        clock.shift(timedelta(minutes=2))
        assert not _still_logged_in(client)


def test_session_limits_follow_the_settings(client, operator, settings):
    settings.SESSION_COOKIE_AGE, settings.SESSION_MAX_AGE_SECONDS = 600, 1800
    with time_machine.travel(START, tick=False) as clock:
        _log_in(client, operator)
        clock.shift(timedelta(minutes=11))
        assert not _still_logged_in(client)
        _log_in(client, operator)
        for _ in range(3):
            clock.shift(timedelta(minutes=9))
            assert _still_logged_in(client)
        clock.shift(timedelta(minutes=4))
        assert not _still_logged_in(client)


def test_session_from_before_these_limits_gets_them_at_its_next_request(client, operator):
    with time_machine.travel(START, tick=False) as clock:
        _log_in(client, operator)
        stored = Session.objects.get()
        data = stored.get_decoded()
        del data["_login_at"], data["_seen_at"]  # as a login before this release left it: 14 days
        Session.objects.filter(pk=stored.pk).update(
            session_data=SessionStore().encode(data), expire_date=START + timedelta(days=14),
        )
        clock.shift(timedelta(minutes=10))
        assert _still_logged_in(client)
        assert Session.objects.get().expire_date == START + timedelta(minutes=70)
        clock.shift(timedelta(minutes=61))
        assert not _still_logged_in(client)
