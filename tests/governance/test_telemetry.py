"""Tracing set up from the standard OTEL_* variables (governance/telemetry.py): off unless they ask for an
exporter, the SDK reading the rest; and a tool's `execute_tool` span when the tool fails."""

from __future__ import annotations

import pytest
from opentelemetry.trace import NoOpTracer, StatusCode

from governance import telemetry
from governance.decisions import ActionRequest, DecisionBackendError
from governance.guard.tools import ToolRegistry
from governance.pauses import PauseGate


def test_no_otel_variable_installs_no_exporter(otel_environment):
    assert telemetry.configure_from_environment() is None
    assert telemetry.installed_provider() is None
    assert isinstance(telemetry.tracer(), NoOpTracer)
    with telemetry.span("governance.run", {"governance.run.id": "1"}) as span:
        assert span.is_recording() is False


@pytest.mark.parametrize(("variables", "requested"), [
    ({}, False),
    ({"OTEL_SERVICE_NAME": "governance"}, False),
    ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
    ({"OTEL_TRACES_EXPORTER": "console"}, True),
    ({"OTEL_SDK_DISABLED": "TRUE", "OTEL_TRACES_EXPORTER": "otlp"}, False),
    ({"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "otlp"}, True),
])
def test_exporting_is_requested_by_an_exporter_or_an_endpoint_unless_the_sdk_is_disabled(variables, requested):
    assert telemetry.exporting_requested(variables) is requested


def test_otlp_means_http_protobuf_when_no_protocol_is_named(otel_environment):
    otel_environment.setenv("OTEL_TRACES_EXPORTER", "otlp")
    provider = telemetry.configure_from_environment()
    assert provider is telemetry.installed_provider() is not None
    assert provider.resource.attributes["service.name"] == "governance-dashboard"
    assert telemetry.configure_from_environment() is provider  # once per process


def test_service_name_comes_from_its_variable(otel_environment):
    otel_environment.setenv("OTEL_TRACES_EXPORTER", "console")
    otel_environment.setenv("OTEL_SERVICE_NAME", "governance-eu")
    assert telemetry.configure_from_environment().resource.attributes["service.name"] == "governance-eu"


@pytest.mark.parametrize(("variable", "value", "says"), [
    ("OTEL_TRACES_EXPORTER", "zipkin", "OTEL_TRACES_EXPORTER='zipkin': Requested component 'zipkin' not found"),
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "OTEL_TRACES_EXPORTER='otlp': Requested component 'otlp_proto_grpc'"),
])
def test_an_exporter_that_is_not_installed_is_refused_naming_it(otel_environment, variable, value, says):
    otel_environment.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    otel_environment.setenv(variable, value)
    with pytest.raises(RuntimeError) as refused:
        telemetry.configure_from_environment()
    assert str(refused.value).startswith(says)
    assert telemetry.installed_provider() is None


def test_failed_tool_span_names_the_error_type_without_its_message(traces):
    def charge_card(card_number: str) -> str:
        """Charge a card."""
        raise ValueError(f"card {card_number} declined")

    registry = ToolRegistry()
    registry.register("charge_card", charge_card)
    with pytest.raises(ValueError):
        registry.get("charge_card").invoke({"card_number": "4242424242424242"}, call_id="call_1")

    (span,) = traces.get_finished_spans()
    assert span.name == "execute_tool charge_card"
    assert dict(span.attributes) == {
        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "charge_card", "gen_ai.tool.call.id": "call_1",
        "gen_ai.tool.type": "function", "gen_ai.tool.description": "Charge a card.", "error.type": "ValueError",
    }
    assert (span.status.status_code, span.status.description, span.events) == (StatusCode.ERROR, None, ())


@pytest.mark.django_db
def test_decision_the_backend_could_not_make_names_the_error_type(traces):
    class Unreachable:
        name = "bighub"

        def evaluate(self, action):
            raise DecisionBackendError("connection refused by bighub.example")

    action = ActionRequest(tool="refund_payment", arguments={"amount": 250}, actor="AI_AGENT_001",
                           domain="customer_transactions", call_id="call_1")
    with pytest.raises(DecisionBackendError):
        PauseGate(Unreachable()).evaluate(action)

    (span,) = traces.get_finished_spans()
    assert span.name == "governance.decide refund_payment"
    assert span.attributes["error.type"] == "DecisionBackendError"
    assert "governance.decision.outcome" not in span.attributes
    assert (span.status.status_code, span.events) == (StatusCode.ERROR, ())
