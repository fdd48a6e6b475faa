"""Traces of governed runs (governance/telemetry.py): the worker driving real runs with the real openai SDK
over the Responses emulator, its spans kept by the SDK's in-memory exporter (the `traces` fixture)."""

from __future__ import annotations

import pytest

from approvals import services as approvals
from approvals.models import ApprovalRequest
from governance.models import ToolRegistration
from runs import worker
from tests.factories import start_run_now

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo(demo_tools_registered):
    pass


def _by_name(spans) -> dict:
    names = [span.name for span in spans]
    assert len(names) == len(set(names)), names
    return {span.name: span for span in spans}


def _step(run, tool: str) -> dict:
    return run.events.get(type="execution_event", payload__tool=tool).payload


def test_allowed_call_traces_its_decision_then_its_execution_inside_the_run(operator, traces):
    run = start_run_now(operator, "Look up order ord_100", tools=("lookup_order",))

    spans = _by_name(traces.get_finished_spans())
    assert list(spans) == ["governance.decide lookup_order", "execute_tool lookup_order", "governance.run"]
    step = _step(run, "lookup_order")
    root, decide, execute = spans["governance.run"], spans["governance.decide lookup_order"], \
        spans["execute_tool lookup_order"]
    assert dict(root.attributes) == {"governance.run.id": str(run.pk)}
    assert root.parent is None
    assert dict(decide.attributes) == {
        "gen_ai.tool.name": "lookup_order",
        "gen_ai.tool.call.id": step["call_id"],
        "governance.action": "lookup_order",
        "governance.actor": "dashboard",
        "governance.domain": "customer_transactions",
        "governance.decision.mode": "submit",
        "governance.decision.recheck": False,
        "governance.decision.outcome": "allowed",
        "governance.decision.reason": step["decision"]["reason"],
        "governance.decision.backend": "embedded",
        "governance.decision.request_id": step["decision"]["request_id"],
        "governance.policy.ids": tuple(step["decision"]["policy_ids"]),
    }
    assert dict(execute.attributes) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "lookup_order",
        "gen_ai.tool.call.id": step["call_id"],
        "gen_ai.tool.type": "function",
        "gen_ai.tool.description": "Look up an order's status (read-only).",
    }
    assert decide.parent.span_id == execute.parent.span_id == root.context.span_id
    assert decide.context.trace_id == execute.context.trace_id == root.context.trace_id
    assert root.start_time <= decide.start_time < decide.end_time <= execute.start_time < execute.end_time <= \
        root.end_time


def test_blocked_call_traces_its_decision_and_no_execution(operator, traces):
    run = start_run_now(operator, "Delete customer cus_42", tools=("delete_customer",))

    spans = _by_name(traces.get_finished_spans())
    assert list(spans) == ["governance.decide delete_customer", "governance.run"]
    decide = spans["governance.decide delete_customer"]
    step = _step(run, "delete_customer")
    assert decide.attributes["governance.decision.outcome"] == "blocked"
    assert decide.attributes["governance.decision.reason"] == step["reason"]
    assert decide.attributes["governance.policy.ids"] == tuple(step["decision"]["policy_ids"])
    assert decide.parent.span_id == spans["governance.run"].context.span_id


def test_approved_call_traces_the_resolution_its_recheck_and_its_execution(operator, reviewer, traces):
    run = start_run_now(operator, "Refund order ord_17 for 500", tools=("refund_payment",))
    paused = _by_name(traces.get_finished_spans())
    assert list(paused) == ["governance.decide refund_payment", "governance.run"]
    assert paused["governance.decide refund_payment"].attributes["governance.decision.outcome"] == "requires_approval"
    traces.clear()

    approval = ApprovalRequest.objects.get(run=run)
    approvals.resolve_approval(approval_id=approval.pk, reviewer=reviewer, resolution="approved")
    worker.resume_run(run_id=run.pk)

    spans = _by_name(traces.get_finished_spans())
    assert list(spans) == ["governance.decide refund_payment", "execute_tool refund_payment",
                           "governance.apply_approval refund_payment", "governance.run"]
    root, applied = spans["governance.run"], spans["governance.apply_approval refund_payment"]
    assert dict(root.attributes) == {"governance.run.id": str(run.pk), "governance.run.resumed": True}
    assert dict(applied.attributes) == {
        "gen_ai.tool.name": "refund_payment",
        "governance.approval.id": str(approval.pk),
        "governance.approval.resolution": "approved",
        "governance.approval.reviewer": "rita",
    }
    recheck, execute = spans["governance.decide refund_payment"], spans["execute_tool refund_payment"]
    assert recheck.attributes["governance.decision.recheck"] is True
    assert execute.attributes["gen_ai.tool.call.id"] == approval.call_id
    assert applied.parent.span_id == root.context.span_id
    assert recheck.parent.span_id == execute.parent.span_id == applied.context.span_id


def test_redacted_arguments_appear_in_no_span(operator, traces):
    ToolRegistration.objects.filter(name="refund_payment").update(redact_fields="order_id, amount")
    run = start_run_now(operator, "Refund order ord_7 for 250", tools=("refund_payment",))

    assert "250" in _step(run, "refund_payment")["reason"]  # the reason quotes the value...
    spans = traces.get_finished_spans()
    decide = _by_name(spans)["governance.decide refund_payment"]
    assert decide.attributes["governance.decision.reason"] == "[redacted]"  # ...so its span does not
    values = [str(value) for span in spans for value in span.attributes.values()]
    assert [value for value in values if "ord_7" in value or "250" in value] == []


def test_run_is_exported_to_an_otlp_receiver_named_by_the_endpoint_variable(operator, otel_environment):
    from governance import telemetry
    from tests.support.otlp_receiver import running_otlp_receiver

    with running_otlp_receiver() as receiver:
        otel_environment.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        otel_environment.setenv("OTEL_SERVICE_NAME", "governance-test")
        assert telemetry.configure_from_environment() is not None
        run = start_run_now(operator, "Look up order ord_100", tools=("lookup_order",))
        telemetry.flush()  # returns once every batch was answered, so each request is in the queue
        exported = [receiver.requests.get(timeout=10)]
        while not receiver.requests.empty():
            exported.append(receiver.requests.get_nowait())

    resources = [resource_spans for request in exported for resource_spans in request.resource_spans]
    assert {a.key: a.value.string_value for r in resources for a in r.resource.attributes}["service.name"] == (
        "governance-test")
    scopes = [scope_spans for r in resources for scope_spans in r.scope_spans]
    assert {scope_spans.scope.name for scope_spans in scopes} == {"governance-dashboard"}
    spans = {span.name: span for scope_spans in scopes for span in scope_spans.spans}
    assert sorted(spans) == ["execute_tool lookup_order", "governance.decide lookup_order", "governance.run"]
    execute = {a.key: a.value.string_value for a in spans["execute_tool lookup_order"].attributes}
    assert (execute["gen_ai.operation.name"], execute["gen_ai.tool.name"], execute["gen_ai.tool.call.id"]) == (
        "execute_tool", "lookup_order", _step(run, "lookup_order")["call_id"])
    decide = {a.key: a.value.string_value for a in spans["governance.decide lookup_order"].attributes}
    assert decide["governance.decision.outcome"] == "allowed"
    assert spans["execute_tool lookup_order"].parent_span_id == spans["governance.run"].span_id
