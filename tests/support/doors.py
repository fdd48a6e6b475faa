"""What the bad-input tests at every door share: a snapshot of what a user could notice, a client
that enforces CSRF as a browser does, and the forged tokens each form is tried with."""

from __future__ import annotations

import pytest
from django.test import Client

from approvals.models import ApprovalRequest
from audit.models import AuditRecord
from runs.models import Run, RunEvent, ToolExecution


def snapshot() -> dict:
    """The rows a user could notice: runs and their statuses, timeline events, approval requests and
    their statuses, tool executions and the audit history. Equal before and after = nothing changed."""
    return {
        "runs": list(Run.objects.order_by("pk").values_list("pk", "status")),
        "events": RunEvent.objects.count(),
        "approvals": list(ApprovalRequest.objects.order_by("pk").values_list("pk", "status", "comment")),
        "executions": ToolExecution.objects.count(),
        "audit": AuditRecord.objects.count(),
    }


def csrf_client(user, page: str) -> tuple[Client, str]:
    """A client that enforces CSRF like a browser would, and the real token its page handed out."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get(page).status_code == 200
    return client, client.cookies["csrftoken"].value


FORGED = [
    pytest.param({}, {}, id="no-token"),
    pytest.param({"csrfmiddlewaretoken": "x" * 32}, {}, id="wrong-form-token"),
    pytest.param({}, {"X-CSRFToken": "y" * 64}, id="wrong-header-token"),
]
