"""From an admin's tool registration to a callable and its schema, safely.

`import_tool_callable` imports only dotted paths under the configured module prefixes
(`GOVERNANCE_TOOL_MODULE_PREFIXES`), with no private part (a leading underscore), and only
callables defined there, so the admin cannot register `os.system`, not even as a name some
allowed module imported, nor a module's own helpers. The schema is the
strict one the runner generates from the signature, or the admin's override, checked as strict.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from governance.field_errors import FieldError
from governance.guard.errors import ToolSchemaError
from governance.guard.schema import check_strict_schema, docstring_summary, schema_from_function


class RegistrationError(FieldError):
    """A registration that cannot be used; `field` names the admin form field to show it on."""


@dataclass(frozen=True)
class DescribedTool:
    fn: Callable[..., Any]
    schema: dict[str, Any]
    description: str


def _allowed(module_name: str, prefixes: tuple[str, ...]) -> bool:
    """The module is one of the prefixes or inside one (`a.b` allows `a.b.c`, not `a.bc`)."""
    return any(module_name == p or module_name.startswith(p + ".") for p in prefixes)


def import_tool_callable(path: str) -> Callable[..., Any]:
    prefixes = tuple(settings.GOVERNANCE_TOOL_MODULE_PREFIXES)
    module_name, _, attribute = path.strip().rpartition(".")
    if not module_name or not attribute:
        raise RegistrationError("callable_path", f"{path!r} is not a dotted path like package.module.function")
    # A leading underscore marks a module's own helper (`demo_tools._record`), never a tool: an
    # override schema would otherwise let an admin hand the model any helper an allowed module has.
    private = next((part for part in path.strip().split(".") if part.startswith("_")), None)
    if private is not None:
        raise RegistrationError(
            "callable_path",
            f"{path.strip()!r} names a private part ({private!r}): only public names, without a leading "
            "underscore, can be registered as tools",
        )
    if not _allowed(module_name, prefixes):
        raise RegistrationError(
            "callable_path",
            f"{module_name!r} is outside the allowed tool modules ({', '.join(prefixes)}); "
            "ask an operator to add its package to GOVERNANCE_TOOL_MODULE_PREFIXES",
        )
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise RegistrationError("callable_path", f"module {module_name!r} does not import: {exc}") from exc
    fn = getattr(module, attribute, None)
    if fn is None:
        raise RegistrationError("callable_path", f"module {module_name!r} has no attribute {attribute!r}")
    if not callable(fn):
        raise RegistrationError("callable_path", f"{path!r} is not callable")
    # An allowed module can import names from anywhere (`from os import system`); the path is not
    # enough, the callable itself must be defined under the allowed prefixes.
    defined_in = getattr(fn, "__module__", None) or ""
    if not _allowed(defined_in, prefixes):
        raise RegistrationError(
            "callable_path",
            f"{path!r} is defined in {defined_in or 'an unknown module'!r}, outside the allowed tool modules "
            f"({', '.join(prefixes)}); register it by a path under those packages",
        )
    return fn


def describe_registration(registration: Any) -> DescribedTool:
    """Import the registration's callable and work out its schema and description."""
    fn = import_tool_callable(registration.callable_path)
    try:
        schema = schema_from_function(fn)
    except ToolSchemaError as exc:
        if registration.schema_override is None:
            raise RegistrationError("callable_path", f"{exc} (or give a schema override)") from exc
        schema = {}
    if registration.schema_override is not None:
        try:
            check_strict_schema(registration.schema_override)
        except ToolSchemaError as exc:
            raise RegistrationError("schema_override", str(exc)) from exc
    effective = registration.schema_override if registration.schema_override is not None else schema
    properties = effective.get("properties", {})
    for field in ("value_argument", "target_argument"):
        argument = getattr(registration, field)
        if argument and argument not in properties:
            raise RegistrationError(field, f"{argument!r} is not an argument of this tool ({', '.join(properties)})")
    description = registration.description or docstring_summary(fn) or f"Execute {registration.name}"
    return DescribedTool(fn=fn, schema=schema, description=description)
