"""The one rule for who may do what (governance/permissions.py), as the dashboard's doors apply it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from runs.models import Run
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def others_run() -> Run:
    return Run.objects.create(started_by=make_user("owen"), prompt="p", model="m", status="failed")


def test_staff_alone_is_not_a_reviewer(client, others_run):
    client.force_login(make_user("sam", staff=True))
    assert client.get(reverse("runs:detail", args=[others_run.pk])).status_code == 404
    assert client.post(reverse("runs:cancel", args=[others_run.pk])).status_code == 404


def test_a_group_named_like_the_reviewers_group_grants_nothing_by_its_name(client, others_run, settings):
    user = make_user("gus")
    user.groups.add(Group.objects.create(name=settings.REVIEWERS_GROUP))
    client.force_login(user)
    assert client.get(reverse("runs:detail", args=[others_run.pk])).status_code == 404


def test_the_resolve_permission_makes_a_reviewer_who_sees_and_may_retry_every_run(client, others_run):
    user = make_user("rhea")
    user.user_permissions.add(Permission.objects.get(codename="resolve_approvalrequest"))
    client.force_login(user)
    page = client.get(reverse("runs:detail", args=[others_run.pk])).content.decode()
    assert 'id="retry-run"' in page
