"""What each policy decision keeps of its inputs (governance/decision_inputs.py): recorded with the call's step
by real runs, once per call, with the arguments as they are shown."""

from __future__ import annotations

import pytest

from approvals.models import ApprovalRequest
from approvals.services import resolve_approval
from governance import versions
from governance.assembly import embedded_engine, shown_call
from governance.decisions import ActionRequest
from governance.models import DecisionInput, DomainDefault, Pause, PauseScope, ToolRegistration
from governance.replay import replay
from runs import worker
from tests.factories import paused_run, start_run_now

pytestmark = pytest.mark.django_db

COLUMNS = ("tool", "actor", "domain", "value", "target", "arguments", "redacted", "outcome", "source")


def recorded() -> list[tuple]:
    return list(DecisionInput.objects.order_by("id").values_list(*COLUMNS))


def test_a_runs_calls_keep_what_each_decision_was_given_and_answered(operator, demo_tools_registered):
    run = start_run_now(operator, "Look up order ord_100", tools=("lookup_order",))

    step = run.events.get(type="execution_event").payload
    row = DecisionInput.objects.get()
    assert (row.run_id, row.call_id, row.request_id) == (run.pk, step["call_id"], step["request_id"])
    assert row.policy_version == step["decision"]["policy_version"]
    assert recorded() == [("lookup_order", "dashboard", "customer_transactions", None, None,
                           {"order_id": "ord_100"}, False, "allowed", "dashboard")]


def test_an_approved_call_is_recorded_once_with_its_first_decision_not_its_recheck(
        operator, reviewer, demo_tools_registered):
    run = paused_run(operator)
    resolve_approval(approval=ApprovalRequest.objects.get(run=run), reviewer=reviewer, resolution="approved")
    worker.resume_run(run_id=run.pk)

    run.refresh_from_db()
    assert run.events.filter(type="execution_event").count() == 2  # approval_required, then executed
    assert recorded() == [("refund_payment", "dashboard", "customer_transactions", 250.0, "ord_7",
                           {"order_id": "ord_7", "amount": 250}, False, "requires_approval", "dashboard")]


def test_a_call_a_pause_blocked_records_nothing(operator, demo_tools_registered):
    Pause.objects.create(scope=PauseScope.TOOL, value="lookup_order", paused_by_name="rita")

    run = start_run_now(operator, "Look up order ord_100", tools=("lookup_order",))

    assert run.events.get(type="execution_event").payload["status"] == "blocked"
    assert recorded() == []


def test_redacted_arguments_are_kept_as_shown_and_a_redacted_target_too(operator, demo_tools_registered):
    ToolRegistration.objects.filter(name="refund_payment").update(redact_fields="order_id")

    paused_run(operator)

    assert recorded() == [("refund_payment", "dashboard", "customer_transactions", 250.0, "[redacted]",
                           {"order_id": "[redacted]", "amount": 250}, True, "requires_approval", "dashboard")]


def test_in_an_observe_only_domain_the_policies_own_outcome_is_kept(operator, demo_tools_registered, settings):
    settings.GOVERNANCE_ALLOW_OBSERVE_ONLY = True
    DomainDefault.objects.filter(domain="customer_transactions").update(observe_only=True)

    run = start_run_now(operator, "Delete customer cus_9", tools=("delete_customer",))

    assert run.events.get(type="execution_event").payload["status"] == "executed"  # let through
    assert [(tool, outcome) for tool, *_, outcome, _source in recorded()] == [("delete_customer", "blocked")]


def test_a_call_decided_again_after_a_worker_died_is_recorded_once(operator, demo_tools_registered):
    run = start_run_now(operator, "Look up order ord_100", tools=("lookup_order",))
    first = DecisionInput.objects.get()
    gate = embedded_engine()
    action = ActionRequest(tool="lookup_order", arguments={"order_id": "ord_100"}, actor="dashboard",
                           domain="customer_transactions", call_id=first.call_id)

    decision = gate.evaluate(action)
    gate.save_held(request_id=decision.request_id, run_id=run.pk, shown={"arguments": action.arguments})

    assert list(DecisionInput.objects.values_list("request_id", flat=True)) == [first.request_id]


def test_a_decision_nobody_saves_records_nothing(demo_tools_registered):
    """A check that writes nothing (a dry run, `check_tool`) leaves what it held unsaved."""
    action = ActionRequest(tool="lookup_order", arguments={"order_id": "ord_1"}, actor="dashboard",
                           domain="customer_transactions", call_id="call_1")

    assert embedded_engine().evaluate(action).outcome == "allowed"
    assert recorded() == []


@pytest.mark.parametrize(("tool", "arguments", "kept"), [
    ({"redact_fields": "cvv"}, {"order_id": "ord_1", "amount": 250, "cvv": 250}, (250.0, "ord_1")),
    ({"redact_fields": "customer.email", "target_argument": "customer"},
     {"order_id": "ord_1", "amount": 250, "customer": {"email": "ann@example.com"}},
     (250.0, str({"email": "[redacted]"}))),
    ({}, {"order_id": "https://x/?key=sk-" + "A1b2C3d4" * 3, "amount": 250}, (250.0, "https://x/?key=[secret]")),
    ({"redact_fields": "amount"}, {"order_id": "ord_1", "amount": 250}, (None, "ord_1")),
])
def test_a_runs_value_and_target_are_kept_only_as_their_argument_is_shown(demo_tools_registered, tool, arguments,
                                                                          kept):
    """As the worker saves a step (runs/worker.py): the guard's request, and the call as `shown_call` shows it."""
    ToolRegistration.objects.filter(name="refund_payment").update(**tool)
    target_argument = tool.get("target_argument", "order_id")
    gate = embedded_engine()
    action = ActionRequest(tool="refund_payment", arguments=arguments, actor="dashboard",
                           domain="customer_transactions", value=float(arguments["amount"]),
                           target=str(arguments[target_argument]), call_id="call_1")

    decision = gate.evaluate(action)
    gate.save_held(request_id=decision.request_id, run_id=None, shown=shown_call("refund_payment", arguments))

    assert decision.outcome == "requires_approval"
    assert list(DecisionInput.objects.values_list("value", "target", "redacted")) == [(*kept, True)]
    result = replay(versions.snapshot())
    assert (result.total, result.changed) == (1, 0)
