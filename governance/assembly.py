"""Assembling the guarded runner from what admins registered in the database (a factory, not services).

`build_guard(tool_names=...)` gives a `GuardedOpenAI` with the enabled registered tools, the
decision backend chosen in settings (the embedded engine over the database's policies, or BIGHUB),
and the OpenAI client (OpenAI with a key, otherwise the offline demo model). The embedded engine is
parsed once per version of the policy tables and reused, not rebuilt per call (with one engine per shadow
policy, governance/shadow.py, whose differences name `run_id`); its decisions carry the
number of the policy set version (governance/versions.py) read with those tables. Both backends are
wrapped in the kill switch's `PauseGate` (governance/pauses.py): the dashboard's runs and the remote
agents' API (`embedded_engine`) decide through it, so a pause blocks both.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from django.conf import settings

from governance.guard import GuardedOpenAI
from governance.redaction import REDACTED, parse_paths, redact_arguments, scrub_secrets
from governance.registry import import_tool_callable

from . import versions
from .models import DASHBOARD_ACTOR, DomainDefault, Policy, ToolRegistration
from .pauses import PauseGate
from .shadow import Shadow

_engine_lock = threading.Lock()
_engine_cache: dict[int, Any] = {}
_openai_client: Any = None


def _policy_version() -> tuple[int, int | None]:
    """A fingerprint of everything the engine is built from, and the policy set's version number; tables
    are small, so read them whole.

    Content, not timestamps: a bulk `.update()` does not touch `updated_at`, yet must take effect. The
    version number is read with them (one more small query per engine lookup, none per decision): a
    version that changes none of the engine's inputs (a tool's value argument) still gets recorded.
    """
    number = versions.latest_number()
    return hash((
        number,
        # The id too: a shadow's differences name its policy by id (a policy deleted and made again).
        tuple(Policy.objects.filter(enabled=True).order_by("name").values_list("pk", "name", "cedar", "mode")),
        tuple(ToolRegistration.objects.filter(enabled=True).order_by("name")
              .values_list("name", "approve_above", "block_above")),
        tuple(DomainDefault.objects.order_by("domain").values_list("domain", "outcome")),
    )), number


def embedded_engine(*, run_id: Any = None, hold_shadow: bool = False, source: str = "dashboard") -> PauseGate:
    """The embedded Cedar engine over the enabled active policies, thresholds and domain defaults, behind the
    kill switch, which stamps each decision with the policy set version the engine was built from,
    compares it with the shadow policies (`run_id`, `hold_shadow`: see `PauseGate`) and holds its inputs
    for the caller to save (`source`: "dashboard" or "api", see `governance.decision_inputs`)."""
    (engine, shadows), number = _policy_engine()
    return PauseGate(engine, policy_version=number, shadows=shadows, run_id=run_id, hold_shadow=hold_shadow,
                     source=source)


def _policy_engine() -> tuple[tuple[Any, list[Shadow]], int | None]:
    from governance.policy import (  # noqa: PLC0415 -- cedarpy only with the embedded backend
        EmbeddedPolicyEngine,
        PolicySource,
        ToolThreshold,
    )

    version, number = _policy_version()
    with _engine_lock:
        built = _engine_cache.get(version)
        if built is not None:
            return built, number
        policies = list(Policy.objects.filter(enabled=True).order_by("name"))
        sources: list[Any] = [
            PolicySource(name=p.name, text=p.cedar) for p in policies if p.mode == Policy.Mode.ACTIVE
        ]
        for tool in ToolRegistration.objects.filter(enabled=True).exclude(approve_above=None, block_above=None):
            sources.append(
                ToolThreshold(tool.name, approve_above=_num(tool.approve_above), block_above=_num(tool.block_above))
            )
        defaults = dict(DomainDefault.objects.values_list("domain", "outcome"))
        engine = EmbeddedPolicyEngine(sources, domain_defaults=defaults)
        # One engine per shadow policy (the active set with it added), so each difference names its policy.
        shadows = [Shadow(policy_id=p.pk, name=p.name,
                          engine=EmbeddedPolicyEngine([*sources, PolicySource(name=p.name, text=p.cedar)],
                                                      domain_defaults=defaults))
                   for p in policies if p.mode == Policy.Mode.SHADOW]
        _engine_cache.clear()
        _engine_cache[version] = (engine, shadows)
        return (engine, shadows), number


_bighub_backend: Any = None


def decision_backend(*, run_id: Any = None) -> Any:
    """The configured backend behind the kill switch; the BIGHUB client is built once per process and reused.
    Shadow policies are the embedded engine's: with BIGHUB they are not evaluated."""
    global _bighub_backend
    if settings.GOVERNANCE_DECISION_BACKEND == "bighub":
        if _bighub_backend is None:
            from governance.backends.bighub import (  # noqa: PLC0415 -- the bighub SDK only with that backend
                bighub_backend_from_settings,
            )

            _bighub_backend = bighub_backend_from_settings(settings.BIGHUB_API_KEY, settings.BIGHUB_BASE_URL or None)
        return PauseGate(_bighub_backend)
    return embedded_engine(run_id=run_id)


def openai_client() -> Any:
    """One client per process: OpenAI with OPENAI_API_KEY, otherwise the offline demo model."""
    global _openai_client
    if _openai_client is None:
        if settings.OPENAI_API_KEY:
            import openai  # noqa: PLC0415 -- the real SDK client only with a key

            _openai_client = openai.OpenAI(api_key=settings.OPENAI_API_KEY, max_retries=0)
        else:
            from governance.emulator import make_openai_client  # noqa: PLC0415 -- the emulator only without a key

            _openai_client = make_openai_client()
    return _openai_client


def build_guard(*, tool_names: list[str], actor: str = DASHBOARD_ACTOR, run_id: Any = None) -> GuardedOpenAI:
    """A guard with the named tools that are still registered and enabled (others are left out); shadow
    policies' differences name `run_id`."""
    guard = GuardedOpenAI(
        openai_client=openai_client(),
        decision_backend=decision_backend(run_id=run_id),
        actor=actor,
        domain="customer_transactions",
        max_tool_rounds=settings.GOVERNANCE_MAX_TOOL_ROUNDS,
        memory_enabled=settings.GOVERNANCE_DECISION_BACKEND == "bighub",
        provider_max_retries=settings.GOVERNANCE_PROVIDER_MAX_RETRIES,
        provider_timeout_seconds=settings.GOVERNANCE_PROVIDER_TIMEOUT_SECONDS,
    )
    for tool in ToolRegistration.objects.filter(enabled=True, name__in=tool_names):
        options: dict[str, Any] = {"domain": tool.domain, "decision_mode": tool.decision_mode}
        if tool.description:
            options["description"] = tool.description
        if tool.schema_override:
            options["parameters_schema"] = tool.schema_override
        if tool.actor:
            options["actor"] = tool.actor
        if tool.value_argument:
            options["value_from_args"] = _argument_reader(tool.value_argument)
        if tool.target_argument:
            options["target_from_args"] = _argument_reader(tool.target_argument)
        guard.register_tool(tool.name, import_tool_callable(tool.callable_path), **options)
    return guard


def _argument_reader(name: str):
    return lambda arguments: arguments.get(name)


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def shown_call(tool_name: str, arguments: Any, *, value: Any = None,
               target: str | None = None) -> dict[str, Any]:
    """The call as it may be stored for display, audit and replay: {"arguments", "value", "target"}.

    The arguments with the tool's redact_fields replaced by "[redacted]", every secret scrubbed. The
    value and target are the real ones (`value`, `target`; read from the tool's value and target
    argument, by name, when not given) only while that argument is shown as it is; otherwise the value
    is "[redacted]" and the target is its argument as shown, as text ("...?key=[secret]", a dict whose
    redacted field is "[redacted]"). Without arguments, a value or target whose argument a redact field
    covers (itself or a field inside it) is "[redacted]"."""
    fields, value_argument, target_argument = (
        ToolRegistration.objects.filter(name=tool_name)
        .values_list("redact_fields", "value_argument", "target_argument").first() or ("", "", ""))
    paths = parse_paths(fields or "")
    if arguments is None:
        if value is not None and _covered(value_argument, paths):
            value = REDACTED
        if target is not None and _covered(target_argument, paths):
            target = REDACTED
        return {"arguments": None, "value": value, "target": None if target is None else scrub_secrets(target)}
    shown = scrub_secrets(redact_arguments(arguments, paths))
    if not isinstance(arguments, dict):  # not a call's arguments (a run refuses them before any decision)
        return {"arguments": shown, "value": value, "target": None if target is None else scrub_secrets(target)}
    if value_argument and arguments.get(value_argument) is not None:
        value = arguments[value_argument] if value is None else value
        if shown.get(value_argument) != arguments[value_argument]:
            value = REDACTED
    if target_argument and arguments.get(target_argument) is not None:
        target = str(arguments[target_argument]) if target is None else target
        if shown.get(target_argument) != arguments[target_argument]:
            target = str(shown[target_argument])
    return {"arguments": shown, "value": value, "target": None if target is None else scrub_secrets(target)}


def _covered(argument: str, paths: list[str]) -> bool:
    return bool(argument) and any(path == argument or path.startswith(argument + ".") for path in paths)


def redact_call_arguments(tool_name: str, arguments: Any) -> Any:
    """The call's arguments as they may be stored for display and audit: the tool's redact_fields
    replaced by "[redacted]", every secret scrubbed. The tool itself is given the real ones."""
    fields = ToolRegistration.objects.filter(name=tool_name).values_list("redact_fields", flat=True).first()
    return scrub_secrets(redact_arguments(arguments, parse_paths(fields or "")))
