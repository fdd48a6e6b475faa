"""The run lifecycle through the services, with the real runner, engine and demo model."""

from __future__ import annotations

import pytest

from approvals import services as approvals
from approvals.models import ApprovalRequest, ApprovalStatus
from runs import commands, live, worker
from runs.models import Run, RunEvent, RunStatus, ToolExecution
from tests.factories import start_run_now
from tests.support import demo_tools

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo(demo_tools_registered):
    pass


def _seqs(run: Run) -> list[int]:
    return list(run.events.values_list("seq", flat=True))


def _statuses(run: Run) -> list[str]:
    return [e.payload["status"] for e in run.events.filter(type="execution_event")]


def test_start_run_empty_prompt_creates_nothing(operator):
    with pytest.raises(commands.RunInputError) as caught:
        commands.start_run(user=operator, prompt="   ", model="gpt-4.1", tool_names=["lookup_order"])
    assert caught.value.field == "prompt"
    assert Run.objects.count() == 0


def test_start_run_unknown_tool_names_it(operator):
    with pytest.raises(commands.RunInputError) as caught:
        commands.start_run(user=operator, prompt="hi", model="gpt-4.1", tool_names=["lookup_order", "format_disk"])
    assert str(caught.value) == "These tools are not registered or are disabled: format_disk."
    assert Run.objects.count() == 0


def test_start_run_enqueues_execution_after_commit(operator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        run = commands.start_run(user=operator, prompt="Look up order ord_1", model="gpt-4.1",
                                 tool_names=["lookup_order"])
    assert run.status == RunStatus.QUEUED
    assert len(callbacks) >= 1


def test_execute_run_allowed_tool_completes(operator):
    run = start_run_now(operator, "Look up order ord_100")
    assert run.status == RunStatus.COMPLETED
    assert "ord_100" in run.final_text
    assert _statuses(run) == ["executed"]
    assert _seqs(run) == list(range(1, run.events.count() + 1))
    assert ToolExecution.objects.filter(run=run, status="succeeded").count() == 1


def test_streamed_text_names_the_text_it_belongs_to(operator, monkeypatch):
    """Every piece of streamed text carries the id of the model's output item, as its `llm_text_done`
    event does, so a page can drop a piece that arrives after the whole text."""
    published = []
    monkeypatch.setattr(live, "publish_text_delta", lambda run_id, text, item_id="": published.append(
        (text, item_id)))
    run = start_run_now(operator, "Look up order ord_1", tools=("lookup_order",))
    done = [e.payload for e in run.events.filter(type="llm_text_done").order_by("seq")]
    assert len(done) == 1 and done[0]["item_id"].startswith("msg_")
    assert {item for _text, item in published} == {done[0]["item_id"]}
    assert "".join(text for text, _item in published) == done[0]["text"] == run.final_text


def test_execute_run_twice_drives_it_once(operator):
    run = start_run_now(operator, "Look up order ord_100")
    worker.execute_run(run_id=run.pk)
    assert demo_tools.EXECUTIONS == [{"tool": "lookup_order", "order_id": "ord_100"}]


def test_execute_run_blocked_tool_never_runs(operator):
    run = start_run_now(operator, "Delete customer cus_42")
    assert run.status == RunStatus.COMPLETED
    assert _statuses(run) == ["blocked"]
    assert demo_tools.EXECUTIONS == []


def test_execute_run_over_threshold_pauses_with_request(operator):
    run = start_run_now(operator, "Refund order ord_7 for 250")
    assert run.status == RunStatus.AWAITING_APPROVAL
    approval = ApprovalRequest.objects.get(run=run)
    assert (approval.tool, approval.arguments, approval.status) == (
        "refund_payment", {"order_id": "ord_7", "amount": 250}, "pending",
    )
    digest = approvals.arguments_digest("refund_payment", {"order_id": "ord_7", "amount": 250})
    assert approval.arguments_digest == digest
    assert demo_tools.EXECUTIONS == []


def test_cancel_awaiting_run_denies_its_requests(operator):
    run = start_run_now(operator, "Refund order ord_16 for 500")
    assert commands.cancel_run(run=run, user=operator) is True
    assert commands.cancel_run(run=run, user=operator) is False
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert ApprovalRequest.objects.get(run=run).status == ApprovalStatus.DENIED
    worker.resume_run(run_id=run.pk)
    assert demo_tools.EXECUTIONS == []


def test_event_seq_has_no_gap_across_pause_and_resume(operator, reviewer):
    run = start_run_now(operator, "Refund order ord_17 for 500")
    approval = ApprovalRequest.objects.get(run=run)
    approvals.resolve_approval(approval_id=approval.pk, reviewer=reviewer, resolution="approved")
    worker.resume_run(run_id=run.pk)
    seqs = list(RunEvent.objects.filter(run=run).values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    kinds = [(e.type, e.payload.get("status")) for e in RunEvent.objects.filter(run=run)]
    assert kinds[0] == ("status", "queued")
    assert kinds[-1] == ("status", "completed")
