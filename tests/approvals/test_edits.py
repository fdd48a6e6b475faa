"""Edit, then approve (approvals/edits.py): a reviewer approves a paused call with changed arguments,
decided again by the current policy, with the real runner, engine and demo model."""

from __future__ import annotations

import json

import pytest

from approvals import edits
from approvals.models import ApprovalRequest, ApprovalStatus
from approvals.services import NotAllowed, arguments_digest
from audit.models import AuditKind, AuditRecord
from governance.models import ToolRegistration
from runs.models import RunOrigin
from tests.factories import paused_run, pending_approval

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_tools_registered")]


def _approval_record(approval: ApprovalRequest) -> dict:
    record = AuditRecord.objects.get(kind=AuditKind.APPROVAL, approval_id=approval.pk)
    return {"reviewer": record.reviewer, "status": record.status, **json.loads(record.details)}


def test_edit_allowed_by_policy_approves_the_edited_call(paused, reviewer):
    approved, applied = edits.approve_edited(approval=paused, reviewer=reviewer,
                                             arguments={"order_id": "ord_7", "amount": 50}, comment="half")

    approved.refresh_from_db()
    assert (approved.status, approved.resolved_by, approved.comment) == (ApprovalStatus.APPROVED, reviewer, "half")
    assert approved.arguments == {"order_id": "ord_7", "amount": 250.0}
    assert approved.edited_arguments == {"order_id": "ord_7", "amount": 50}
    assert [str(c) for c in applied.changes] == ["amount: 250 -> 50"]


def test_edit_that_still_requires_approval_counts_as_the_approval(paused, reviewer):
    approved, _ = edits.approve_edited(approval=paused, reviewer=reviewer, arguments={"amount": 400})

    approved.refresh_from_db()
    assert (approved.status, approved.edited_arguments) == ("approved", {"order_id": "ord_7", "amount": 400})


def test_edit_refused_when_the_policy_blocks_the_edited_call(paused, reviewer):
    with pytest.raises(edits.EditRefused) as refused:
        edits.approve_edited(approval=paused, reviewer=reviewer, arguments={"amount": 20000})

    assert str(refused.value) == ("The policy blocks the edited call, so it was not approved: refund_payment is "
                                  "blocked: value 20,000.00 is above 10,000 (policy refund_payment-threshold)")
    paused.refresh_from_db()
    assert (paused.status, paused.edited_arguments) == (ApprovalStatus.PENDING, None)
    assert not AuditRecord.objects.filter(kind=AuditKind.APPROVAL, approval_id=paused.pk).exists()


def test_digest_binds_the_edited_arguments(paused, reviewer):
    original = paused.arguments_digest
    edits.approve_edited(approval=paused, reviewer=reviewer, arguments={"order_id": "ord_8", "amount": 99.5})

    paused.refresh_from_db()
    assert paused.original_digest == original == arguments_digest("refund_payment",
                                                                  {"order_id": "ord_7", "amount": 250})
    assert paused.arguments_digest == arguments_digest("refund_payment", {"order_id": "ord_8", "amount": 99.5})


def test_audit_record_keeps_both_argument_sets(paused, reviewer):
    edits.approve_edited(approval=paused, reviewer=reviewer, arguments={"order_id": "ord_7", "amount": 50})

    record = _approval_record(paused)
    assert (record["reviewer"], record["status"]) == ("rita", "approved")
    assert record["arguments"] == {"order_id": "ord_7", "amount": 250.0}
    assert record["edited_arguments"] == {"order_id": "ord_7", "amount": 50}
    assert record["changes"] == ["amount: 250 -> 50"]


def test_arguments_invalid_against_the_schema_give_a_field_error(paused, reviewer):
    with pytest.raises(edits.EditInvalid) as invalid:
        edits.approve_edited(approval=paused, reviewer=reviewer, arguments={"amount": "fifty"})

    assert invalid.value.errors == {"amount": ["'fifty' is not of type 'number'"]}
    paused.refresh_from_db()
    assert paused.status == ApprovalStatus.PENDING


def test_an_edit_that_changes_nothing_is_refused(paused, reviewer):
    with pytest.raises(edits.EditInvalid) as invalid:
        edits.approve_edited(approval=paused, reviewer=reviewer, arguments={"order_id": "ord_7", "amount": 250})

    assert invalid.value.errors == {"": ["Nothing was changed: use Approve to approve the call as it is."]}


def test_the_runs_starter_cannot_edit_and_approve(paused, operator):
    with pytest.raises(NotAllowed):
        edits.approve_edited(approval=paused, reviewer=operator, arguments={"amount": 50})


def test_a_remote_agents_call_cannot_be_edited(operator, reviewer):
    approval = pending_approval(operator)
    approval.run.origin = RunOrigin.REMOTE
    approval.run.save(update_fields=["origin"])

    with pytest.raises(edits.EditRefused) as refused:
        edits.approve_edited(approval=approval, reviewer=reviewer, arguments={"amount": 50})

    assert str(refused.value) == edits.REMOTE_REFUSAL


def test_redacted_fields_are_locked_and_stay_redacted(operator, reviewer):
    ToolRegistration.objects.filter(name="refund_payment").update(redact_fields="order_id")
    approval = ApprovalRequest.objects.get(run=paused_run(operator))
    assert approval.arguments == {"order_id": "[redacted]", "amount": 250.0}
    assert edits.edit_setup(approval).locked == {"order_id"}

    # A value typed for a locked field is ignored: the call keeps its real order id.
    _, applied = edits.approve_edited(approval=approval, reviewer=reviewer,
                                      arguments={"order_id": "ord_666", "amount": 60})

    approval.refresh_from_db()
    assert approval.edited_arguments == {"order_id": "[redacted]", "amount": 60}
    assert approval.arguments_digest == arguments_digest("refund_payment", {"order_id": "ord_7", "amount": 60})
    assert [str(c) for c in applied.changes] == ["amount: 250 -> 60"]
    assert _approval_record(approval)["edited_arguments"] == {"order_id": "[redacted]", "amount": 60}


def test_a_secret_shaped_value_cannot_be_set_by_an_edit(paused, reviewer):
    with pytest.raises(edits.EditInvalid) as invalid:
        edits.approve_edited(approval=paused, reviewer=reviewer,
                             arguments={"order_id": "sk-" + "a" * 24, "amount": 250})

    assert invalid.value.errors == {
        "order_id": ["This value looks like a secret and would be stored as [secret]; it cannot be set by an edit."]}
