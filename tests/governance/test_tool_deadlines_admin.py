"""A tool's deadline settings in the admin: its approval window and escalation group are saved; a window
of 0 seconds is refused on the form."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from governance.models import ToolRegistration
from tests.governance.test_admin import TOOL_FORM

pytestmark = pytest.mark.django_db


def test_tool_approval_window_and_escalation_group_are_saved(admin_client):
    leads = Group.objects.create(name="finance-leads")
    response = admin_client.post(reverse("admin:governance_toolregistration_add"),
                                 {**TOOL_FORM, "approval_window_seconds": "900", "escalation_group": str(leads.pk)})
    assert response.status_code == 302
    tool = ToolRegistration.objects.get(name="lookup_order")
    assert (tool.approval_window_seconds, tool.escalation_group) == (900, leads)


def test_tool_approval_window_of_zero_is_refused(admin_client):
    response = admin_client.post(reverse("admin:governance_toolregistration_add"),
                                 {**TOOL_FORM, "approval_window_seconds": "0"})
    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 1." in response.content.decode()
    assert ToolRegistration.objects.count() == 0
