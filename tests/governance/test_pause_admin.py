"""The kill switch in the admin: pause selected tools in one action, add a pause, resume with an action;
all of it as the admin's user, and recorded in the audit history."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from audit.models import AuditRecord
from governance.models import Pause, ToolRegistration
from tests.factories import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_tools_registered")]


@pytest.fixture
def staff(client):
    """A staff reviewer who may pause and see tools, signed in."""
    user = make_user("rita", reviewer=True, staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["pause_decisions", "view_toolregistration"]))
    client.force_login(user)
    return user


def pause_records() -> list[tuple[str, str]]:
    return list(AuditRecord.objects.filter(kind="configuration", reason__startswith="pause ").order_by("id")
                .values_list("actor", "reason"))


def test_the_tool_list_pauses_the_selected_tools_in_one_action(client, staff):
    refund = ToolRegistration.objects.get(name="refund_payment")

    response = client.post(reverse("admin:governance_toolregistration_changelist"),
                           {"action": "pause_tools", "_selected_action": [refund.pk]})

    assert response.status_code == 302
    assert [(p.what, p.paused_by_name) for p in Pause.objects.active()] == [("tool refund_payment", "rita")]
    assert pause_records() == [("rita", "pause “tool refund_payment” created")]


def test_a_pause_added_in_the_admin_is_resumed_with_its_action(client, staff):
    response = client.post(reverse("admin:governance_pause_add"), {"scope": "domain", "value": "hr"})
    assert response.status_code == 302
    [pause] = Pause.objects.active()

    response = client.post(reverse("admin:governance_pause_changelist"),
                           {"action": "resume_pauses", "_selected_action": [pause.pk]})

    assert response.status_code == 302
    pause.refresh_from_db()
    assert (pause.paused_by_name, pause.resumed_by_name, pause.is_active) == ("rita", "rita", False)
    assert pause_records() == [("rita", "pause “domain hr” created"),
                               ("rita", "pause “domain hr” changed: resumed_at, resumed_by_name")]


def test_a_pause_that_names_no_tool_is_refused_on_the_form(client, staff):
    response = client.post(reverse("admin:governance_pause_add"), {"scope": "tool", "value": ""})

    assert response.status_code == 200
    assert "Name the tool to pause." in response.content.decode()
    assert Pause.objects.count() == 0


def test_without_the_permission_the_admin_offers_no_pause(client):
    user = make_user("sam", staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_toolregistration"))
    client.force_login(user)
    refund = ToolRegistration.objects.get(name="refund_payment")

    assert client.get(reverse("admin:governance_pause_add")).status_code == 403
    client.post(reverse("admin:governance_toolregistration_changelist"),
                {"action": "pause_tools", "_selected_action": [refund.pk]})
    assert Pause.objects.count() == 0
