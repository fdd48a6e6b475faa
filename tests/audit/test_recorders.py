"""What the run lifecycle writes to the audit history: decisions, executions, approvals, statuses,
with redacted arguments and no secrets."""

from __future__ import annotations

import logging

import pytest

from approvals import services as approvals
from approvals.models import ApprovalRequest
from audit.chain import seal, verify_chain
from audit.models import AuditRecord
from audit.recorders import record_run_event
from governance.models import ToolRegistration
from runs import commands, worker
from tests.factories import start_run_now
from tests.support import demo_tools

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo(demo_tools_registered):
    pass


def _trail(run):
    return [(r.kind, r.decision, r.status, r.tool) for r in AuditRecord.objects.filter(run_id=run.pk).order_by("id")]


def test_an_allowed_call_leaves_its_run_statuses_and_execution(operator):
    run = start_run_now(operator, "Look up order ord_100")
    assert _trail(run) == [
        ("run_status", "", "queued", ""),
        ("run_status", "", "running", ""),
        ("execution", "allowed", "executed", "lookup_order"),
        ("run_status", "", "completed", ""),
    ]
    execution = AuditRecord.objects.get(run_id=run.pk, kind="execution")
    assert (execution.actor, execution.domain) == ("dashboard", "customer_transactions")
    assert execution.details_data["arguments"] == {"order_id": "ord_100"}
    assert execution.details_data["output"]["order_id"] == "ord_100"
    assert AuditRecord.objects.filter(run_id=run.pk, kind="run_status").first().actor == "olivia"


def test_blocked_call_names_its_policy(operator):
    run = start_run_now(operator, "Delete customer cus_9")
    blocked = AuditRecord.objects.get(run_id=run.pk, decision="blocked")
    assert (blocked.kind, blocked.tool, blocked.policy_ids) == ("decision", "delete_customer", "demo#2")
    assert blocked.reason


def test_approval_then_execution_with_the_reviewer(operator, reviewer):
    run = start_run_now(operator, "Refund order ord_7 for 250")
    approval = ApprovalRequest.objects.get(run=run)
    approvals.resolve_approval(approval_id=approval.pk, reviewer=reviewer, resolution="approved", comment="known")
    worker.resume_run(run_id=run.pk)
    decisions = [(r.kind, r.decision, r.reviewer, r.approval_id) for r in
                 AuditRecord.objects.filter(run_id=run.pk).exclude(kind="run_status").order_by("id")]
    assert decisions == [
        ("decision", "requires_approval", "", approval.pk),
        ("approval", "approved", "rita", approval.pk),
        ("execution", "allowed", "", approval.pk),
    ]
    assert AuditRecord.objects.get(kind="approval").details_data["comment"] == "known"
    seal()
    report = verify_chain()
    assert (report.intact, report.checked, report.unsealed) == (True, AuditRecord.objects.count(), 0)


def test_denial_expiry_and_cancellation_are_recorded(operator, reviewer):
    denied = start_run_now(operator, "Refund order ord_1 for 250")
    approvals.resolve_approval(approval_id=ApprovalRequest.objects.get(run=denied).pk, reviewer=reviewer,
                               resolution="denied", comment="not this one")
    worker.resume_run(run_id=denied.pk)
    expired = start_run_now(operator, "Refund order ord_2 for 300")
    ApprovalRequest.objects.filter(run=expired).update(expires_at="2000-01-01T00:00:00Z")
    assert approvals.expire_overdue() == 1
    cancelled = start_run_now(operator, "Refund order ord_3 for 350")
    commands.cancel_run(run=cancelled, user=operator)

    def approval_record(run):
        return AuditRecord.objects.filter(run_id=run.pk, kind="approval").values_list("decision", "reviewer").get()

    assert approval_record(denied) == ("denied", "rita")
    assert approval_record(expired) == ("expired", "")
    assert approval_record(cancelled) == ("denied", "olivia")
    assert AuditRecord.objects.filter(run_id=denied.pk, kind="decision", decision="denied").exists()
    assert AuditRecord.objects.filter(run_id=cancelled.pk, status="cancelled").exists()


def test_redacted_fields_are_never_stored_or_shown(operator, reviewer, client):
    ToolRegistration.objects.filter(name="refund_payment").update(redact_fields="order_id")
    run = start_run_now(operator, "Refund order ord_77731 for 250")
    approval = ApprovalRequest.objects.get(run=run)
    approvals.resolve_approval(approval_id=approval.pk, reviewer=reviewer, resolution="approved")
    worker.resume_run(run_id=run.pk)
    # The tool got the real value; nothing stored for display or audit has it.
    assert demo_tools.EXECUTIONS == [{"tool": "refund_payment", "order_id": "ord_77731", "amount": 250.0}]
    approval.refresh_from_db()
    assert approval.arguments == {"order_id": "[redacted]", "amount": 250}
    for record in AuditRecord.objects.filter(tool="refund_payment"):
        assert "ord_77731" not in record.details_data.get("arguments", {}).values()
        assert record.details_data["arguments"]["order_id"] == "[redacted]"
    for event in run.events.filter(type="execution_event"):
        assert event.payload["arguments"]["order_id"] == "[redacted]"
    client.force_login(reviewer)
    page = client.get(f"/approvals/{approval.pk}/").content.decode()
    assert "[redacted]" in page and '"ord_77731"' not in page


def test_secrets_reach_neither_the_audit_log_nor_the_application_log(settings, caplog):
    key = "sk-proj-" + "Z" * 40
    settings.OPENAI_API_KEY = "configured-key-" + "q" * 20
    record_run_event("0" * 32, "execution_event", {
        "tool": "lookup_order", "call_id": "c1", "status": "executed", "reason": f"used {settings.OPENAI_API_KEY}",
        "arguments": {"order_id": key}, "output": {"echo": f"Authorization: Bearer {key}"}, "decision": {},
    })
    record = AuditRecord.objects.get(kind="execution")  # the fixtures' configuration records aside
    stored = " ".join([record.details, record.search_text, record.reason])
    assert key not in stored and settings.OPENAI_API_KEY not in stored and "ZZZZ" not in stored
    assert record.details_data["arguments"] == {"order_id": "[secret]"}
    handler = logging.getLogger().handlers[0]
    caplog.handler.addFilter(handler.filters[0])  # the filter settings.LOGGING puts on every handler
    with caplog.at_level(logging.INFO):
        logging.getLogger("runs").info("calling with key %s and %s", key, settings.OPENAI_API_KEY)
        try:
            raise RuntimeError(f"provider refused {key}")
        except RuntimeError:
            logging.getLogger("runs").exception("call failed")
    assert key not in caplog.text and settings.OPENAI_API_KEY not in caplog.text
    assert "calling with key [secret] and [secret]" in caplog.text


def test_cancel_records_its_denial_naming_who_cancelled(client, operator):
    run = start_run_now(operator, "Refund order ord_3 for 350")
    client.force_login(operator)
    client.post(f"/runs/{run.pk}/cancel/", {"confirm": "yes"})

    approval = AuditRecord.objects.get(run_id=run.pk, kind="approval")
    denial = AuditRecord.objects.get(run_id=run.pk, kind="decision", decision="denied")
    assert (approval.decision, approval.reviewer) == ("denied", "olivia")
    assert (denial.tool, denial.reason) == ("refund_payment", "denied because olivia cancelled the run")
