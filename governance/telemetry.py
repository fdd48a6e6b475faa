"""Traces: each decision and each tool execution as an OpenTelemetry span, exported only when asked.

`configure_from_environment()` is called once per process (`GovernanceConfig.ready`: the web
process, the Celery workers, the sealer, every management command). It installs the SDK's tracer
provider only when the standard variables ask for an exporter: `OTEL_TRACES_EXPORTER` (e.g. `otlp`,
`console`; `none` turns tracing off), or an OTLP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`,
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), which means `otlp`. `OTEL_SDK_DISABLED=true` wins over
both. The SDK reads everything else itself: the exporter names and the OTLP protocol (its
`_configuration` module, the same reading `opentelemetry-instrument` does), the endpoint, headers and
timeout (the OTLP exporter), `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` (the resource),
`OTEL_TRACES_SAMPLER` and `OTEL_BSP_*` (the provider and its batch processor). With nothing set, the
tracer is the API's no-op tracer: a span costs a function call and nothing is exported.

The spans (docs/operations.md, "Traces"):
- `execute_tool {tool}` (`tool_span`, where `ToolSpec.invoke` runs the tool) after the GenAI semantic
  conventions: `gen_ai.operation.name`, `gen_ai.tool.name`, `gen_ai.tool.call.id`, `gen_ai.tool.type`,
  `gen_ai.tool.description`, and `error.type` when the tool raised.
- `governance.decide {tool}` (`decision_span`, where the kill switch's gate asks the backend) with this
  product's `governance.*` attributes (`decision_attributes`).
- `governance.apply_approval {tool}` (`approval_span`) around a reviewer's resolution applied to its call.
- `span(name, attributes)` for the steps around them (the worker's `governance.run`).
No argument value is ever an attribute (they may be fields redaction hides), and no exception message
either (it may quote arguments): a failure is its `error.type` and an error status.

This module imports neither Django nor any app: the guarded runner uses it from a plain script too.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode, Tracer

from governance.decisions import ActionRequest, Decision

logger = logging.getLogger("governance.telemetry")

INSTRUMENTATION_NAME = "governance-dashboard"
DEFAULT_SERVICE_NAME = "governance-dashboard"

_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_PROTOCOL_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")

_tracer: Tracer = trace.NoOpTracer()
_provider: Any = None  # the SDK's TracerProvider once one is installed


def tracer() -> Tracer:
    """The tracer every span here is made with: the no-op tracer until a provider is installed."""
    return _tracer


def installed_provider() -> Any:
    """The SDK tracer provider this process exports with, or None (tracing is off)."""
    return _provider


def use_tracer_provider(provider: Any) -> None:
    """Make spans with `provider` from now on (None: back to the no-op tracer). For tests, and for a
    script that configures its own SDK."""
    global _tracer, _provider
    _provider = provider
    _tracer = trace.NoOpTracer() if provider is None else provider.get_tracer(INSTRUMENTATION_NAME)


def exporting_requested(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the OTEL_* variables ask for traces to be exported (see the module docstring)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporters:
        return exporters != "none"
    return any(environ.get(name, "").strip() for name in _ENDPOINT_VARIABLES)


def configure_from_environment() -> Any:
    """Install the SDK's tracer provider with the exporters the OTEL_* variables name; returns it, or
    None when they name none (the default: nothing is installed). Once per process: a second call
    returns the provider already installed.

    Raises RuntimeError, naming the variable, for an exporter or protocol that is not installed.
    """
    if _provider is not None or not exporting_requested():
        return _provider
    # The SDK's optional parts are imported only when tracing is on.
    from opentelemetry.sdk._configuration import (  # noqa: PLC0415 -- only with tracing on
        _get_exporter_names,
        _import_exporters,
    )
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource  # noqa: PLC0415 -- only with tracing on
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415 -- only with tracing on
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415 -- only with tracing on

    # An endpoint alone means the spec's default exporter, otlp; and with no protocol named, the spec's
    # default protocol, http/protobuf (the exporter this product ships; the Python SDK would pick gRPC).
    os.environ.setdefault("OTEL_TRACES_EXPORTER", "otlp")
    if not any(os.environ.get(name, "").strip() for name in _PROTOCOL_VARIABLES):
        os.environ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] = "http/protobuf"
    try:
        exporters, _metrics, _logs = _import_exporters(_get_exporter_names("traces"), [], [])
    except RuntimeError as exc:
        raise RuntimeError(f"OTEL_TRACES_EXPORTER={os.environ['OTEL_TRACES_EXPORTER']!r}: {exc}") from exc
    resource = Resource.create({})
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    provider = TracerProvider(resource=resource)
    for exporter_class in exporters.values():
        provider.add_span_processor(BatchSpanProcessor(exporter_class()))
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(provider)  # so other instrumentations add their spans to the same traces
    use_tracer_provider(provider)
    logger.info("exporting traces with %s as service %s", ", ".join(exporters) or "no exporter",
                resource.attributes.get(SERVICE_NAME))
    return provider


def flush(timeout_millis: int = 5_000) -> None:
    """Export the spans still waiting in the batch (before a process exits on its own)."""
    if _provider is not None:
        _provider.force_flush(timeout_millis)


@contextmanager
def span(name: str, attributes: Mapping[str, Any] | None = None) -> Iterator[Span]:
    """A span around a step, the current one while it lasts; an exception gives it `error.type`."""
    if _provider is None:  # tracing is off: no span, no context change
        yield trace.INVALID_SPAN
        return
    with _tracer.start_as_current_span(name, attributes=_present(attributes or {}), record_exception=False,
                                       set_status_on_exception=False) as current:
        try:
            yield current
        except Exception as exc:
            mark_failed(current, exc)
            raise


def mark_failed(current: Span, exc: BaseException) -> None:
    """`error.type` and an error status, without the message (it may quote a tool's arguments)."""
    current.set_attribute("error.type", type(exc).__qualname__)
    current.set_status(Status(StatusCode.ERROR))


def tool_span(*, tool: str, call_id: str | None, description: str = "") -> Any:
    """The GenAI `execute_tool` span of one tool call."""
    return span(f"execute_tool {tool}", {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": tool,
        "gen_ai.tool.call.id": call_id,
        "gen_ai.tool.type": "function",
        "gen_ai.tool.description": description,
    })


def decision_span(action: ActionRequest, *, recheck: bool = False) -> Any:
    """The span of one decision on `action` (its outcome is added with `decision_attributes`)."""
    return span(f"governance.decide {action.tool}", {
        "gen_ai.tool.name": action.tool,
        "gen_ai.tool.call.id": action.call_id,
        "governance.action": action.action_name,
        "governance.actor": action.actor,
        "governance.domain": action.domain,
        "governance.decision.mode": action.decision_mode,
        "governance.decision.recheck": recheck,
    })


def approval_span(*, tool: str, approval_id: Any, resolution: str, reviewer: str = "") -> Any:
    """The span of a reviewer's resolution being applied to the call it was raised for: the re-check
    and the tool's execution of an approved call are its children."""
    return span(f"governance.apply_approval {tool}", {
        "gen_ai.tool.name": tool,
        "governance.approval.id": str(approval_id),
        "governance.approval.resolution": resolution,
        "governance.approval.reviewer": reviewer,
    })


def decision_attributes(decision: Decision, *, reason: str) -> dict[str, Any]:
    """What a decision adds to its span; `reason` is the decision's reason as it may be written down."""
    return _present({
        "governance.decision.outcome": decision.outcome,
        "governance.decision.reason": reason,
        "governance.decision.backend": decision.backend,
        "governance.decision.request_id": decision.request_id,
        "governance.policy.ids": list(decision.policy_ids),
        "governance.approval.id": None if decision.approval_id is None else str(decision.approval_id),
    })


def _present(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """The attributes that have a value (OpenTelemetry refuses None; an empty text or list says nothing)."""
    return {key: value for key, value in attributes.items() if value is not None and value != "" and value != []}
