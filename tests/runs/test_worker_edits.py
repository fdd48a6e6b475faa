"""A call approved with a reviewer's edit: the worker runs the tool with the edited arguments and the
model is told what changed, through the real openai SDK and the Responses emulator."""

from __future__ import annotations

import json

import pytest

from approvals import edits
from approvals.models import ApprovalRequest
from governance.models import ToolRegistration
from runs import worker
from runs.models import RunStatus
from tests.factories import paused_run
from tests.support import demo_tools

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_tools_registered")]


def _outputs_sent(request: dict) -> list[dict]:
    return [json.loads(item["output"]) for item in request["input"] if item.get("type") == "function_call_output"]


def test_edited_call_runs_with_the_edited_arguments_and_the_model_is_told(emulator, operator, reviewer):
    run = paused_run(operator)
    approval = ApprovalRequest.objects.select_related("run").get(run=run)
    edits.approve_edited(approval=approval, reviewer=reviewer, arguments={"order_id": "ord_7", "amount": 50})

    worker.resume_run(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert demo_tools.EXECUTIONS == [{"tool": "refund_payment", "order_id": "ord_7", "amount": 50}]
    told = _outputs_sent(emulator.requests[-1])
    assert told == [{
        "status": "executed",
        "output": {"ok": True, "order_id": "ord_7", "amount": 50, "refund_id": "re_ord_7"},
        "note": "a reviewer changed the arguments before approving, and the call ran with them: amount: 250 -> 50",
    }]
    executed = run.events.filter(type="execution_event").last().payload
    assert (executed["status"], executed["arguments"]) == ("executed", {"order_id": "ord_7", "amount": 50})


def test_edit_of_a_redacted_tool_runs_the_real_value_and_tells_only_what_is_shown(emulator, operator, reviewer):
    ToolRegistration.objects.filter(name="refund_payment").update(redact_fields="order_id")
    run = paused_run(operator)
    approval = ApprovalRequest.objects.select_related("run").get(run=run)
    edits.approve_edited(approval=approval, reviewer=reviewer, arguments={"amount": 75})

    worker.resume_run(run_id=run.pk)

    assert demo_tools.EXECUTIONS == [{"tool": "refund_payment", "order_id": "ord_7", "amount": 75}]
    (told,) = _outputs_sent(emulator.requests[-1])
    assert told["note"] == ("a reviewer changed the arguments before approving, and the call ran with them: "
                            "amount: 250 -> 75")
    executed = run.events.filter(type="execution_event").last().payload
    assert executed["arguments"] == {"order_id": "[redacted]", "amount": 75}


def test_edited_approval_of_a_call_whose_arguments_changed_since_is_not_run(emulator, operator, reviewer):
    run = paused_run(operator)
    approval = ApprovalRequest.objects.select_related("run").get(run=run)
    edits.approve_edited(approval=approval, reviewer=reviewer, arguments={"amount": 50})
    # The digest binds the edited arguments: a row whose edit was tampered with no longer matches.
    ApprovalRequest.objects.filter(pk=approval.pk).update(edited_arguments={"order_id": "ord_7", "amount": 5})

    worker.resume_run(run_id=run.pk)

    assert demo_tools.EXECUTIONS == []
    (told,) = _outputs_sent(emulator.requests[-1])
    assert told == {"status": "denied", "reason": "the call differs from what the reviewer approved, so it was not run"}
