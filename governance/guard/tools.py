"""Registered tools: `ToolSpec` (one tool and its governance options) and `ToolRegistry`.

`ToolRegistry.register(name, fn, ...)` checks everything it can at registration time, so a run never
discovers a configuration mistake: the name against the API's pattern, the decision mode, the
schema (generated from the signature by `schema_from_function`, or a given `parameters_schema`
checked with `check_strict_schema` when strict, and against the function's parameters). A name may
be registered once; registering it again is an `AdapterConfigurationError`.

`ToolSpec.to_openai_tool()` gives the Responses API's flat function tool
`{"type": "function", "name", "description", "parameters", "strict"}`. `invoke`/`ainvoke` re-validate
the arguments against the schema (they may come from a stored, resumed run) and call the function
with them converted to Python values (`coerce_arguments`), each call in its `execute_tool` span
(governance/telemetry.py). `value_from_args`, `target_from_args`
and `metadata_from_args` receive the validated JSON arguments, not the converted ones.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from governance import telemetry

from .errors import AdapterConfigurationError, ToolSchemaError
from .schema import (
    check_json_schema,
    check_strict_schema,
    coerce_arguments,
    docstring_summary,
    schema_from_function,
)
from .validation import validate_arguments

__all__ = ["DECISION_MODES", "TOOL_NAME_PATTERN", "ArgsHook", "ToolRegistry", "ToolSpec"]

TOOL_NAME_PATTERN = re.compile(r"[a-zA-Z0-9_-]{1,64}")
DECISION_MODES = ("submit", "submit_v2")

ArgsHook = Callable[[dict[str, Any]], Any]


@dataclass
class ToolSpec:
    """One registered tool: the function, its schema and how governance sees its calls."""

    name: str
    fn: Callable[..., Any]
    description: str
    parameters_schema: dict[str, Any]
    strict: bool = True
    value_from_args: ArgsHook | None = None
    target_from_args: ArgsHook | None = None
    metadata_from_args: ArgsHook | None = None
    action_name: str | None = None
    domain: str | None = None
    actor: str | None = None
    decision_mode: str | None = None

    def to_openai_tool(self) -> dict[str, Any]:
        """The Responses API function tool (flat format, not Chat Completions' nested one)."""
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": copy.deepcopy(self.parameters_schema),
            "strict": self.strict,
        }

    def call_kwargs(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Validate `arguments` against the schema and convert them to the function's keyword arguments."""
        validate_arguments(arguments, self.parameters_schema)
        return coerce_arguments(self.fn, self.parameters_schema, arguments)

    def invoke(self, arguments: dict[str, Any], *, call_id: str | None = None) -> Any:
        """Call the tool, in its `execute_tool` span. An async tool is run to completion with
        `asyncio.run` (outside an event loop)."""
        with telemetry.tool_span(tool=self.name, call_id=call_id, description=self.description):
            result = self.fn(**self.call_kwargs(arguments))
            if inspect.isawaitable(result):
                return self._run_awaitable(result)
            return result

    async def ainvoke(self, arguments: dict[str, Any], *, call_id: str | None = None) -> Any:
        """Call the tool from asyncio, in its `execute_tool` span: coroutines are awaited, sync functions
        run in a worker thread."""
        with telemetry.tool_span(tool=self.name, call_id=call_id, description=self.description):
            kwargs = self.call_kwargs(arguments)
            if _is_async_callable(self.fn):
                result = self.fn(**kwargs)
            else:
                result = await asyncio.to_thread(self.fn, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result

    def _run_awaitable(self, awaitable: Awaitable[Any]) -> Any:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(_await(awaitable))
        if inspect.iscoroutine(awaitable):
            awaitable.close()
        raise AdapterConfigurationError(
            f"tool {self.name!r} is async and an event loop is running in this thread; "
            "use AsyncGuardedOpenAI (ToolSpec.ainvoke) for it"
        )


class ToolRegistry:
    """The tools of one guarded client, in registration order."""

    def __init__(self) -> None:
        self._tools: dict[str, ToolSpec] = {}
        self._openai_tools: list[dict[str, Any]] | None = None

    def register(
        self,
        name: str,
        fn: Callable[..., Any],
        *,
        description: str | None = None,
        parameters_schema: dict[str, Any] | None = None,
        value_from_args: ArgsHook | None = None,
        target_from_args: ArgsHook | None = None,
        metadata_from_args: ArgsHook | None = None,
        action_name: str | None = None,
        domain: str | None = None,
        actor: str | None = None,
        decision_mode: str | None = None,
        strict: bool = True,
    ) -> ToolSpec:
        """Register `fn` as tool `name`. Raises `AdapterConfigurationError` (or `ToolSchemaError`)."""
        if not isinstance(name, str) or not TOOL_NAME_PATTERN.fullmatch(name):
            raise AdapterConfigurationError(
                f"invalid tool name {name!r}: use 1 to 64 letters, digits, underscores or hyphens "
                "(the API's pattern ^[a-zA-Z0-9_-]{1,64}$)"
            )
        if name in self._tools:
            raise AdapterConfigurationError(f"a tool named {name!r} is already registered")
        if not callable(fn):
            raise AdapterConfigurationError(f"tool {name!r}: fn must be callable, got {type(fn).__name__}")
        hooks = {"value_from_args": value_from_args, "target_from_args": target_from_args,
                 "metadata_from_args": metadata_from_args}
        for option, hook in hooks.items():
            if hook is not None and not callable(hook):
                raise AdapterConfigurationError(
                    f"tool {name!r}: {option} must be callable, got {type(hook).__name__}"
                )
        labels = {"action_name": action_name, "domain": domain, "actor": actor}
        for option, label in labels.items():
            if label is not None and (not isinstance(label, str) or not label.strip()):
                raise AdapterConfigurationError(
                    f"tool {name!r}: {option} must be a non-empty string, got {label!r}"
                )
        if decision_mode is not None and decision_mode not in DECISION_MODES:
            raise AdapterConfigurationError(
                f"tool {name!r}: decision_mode must be one of {DECISION_MODES}, got {decision_mode!r}"
            )
        if parameters_schema is None:
            schema = schema_from_function(fn)
        else:
            schema = copy.deepcopy(parameters_schema)
            (check_strict_schema if strict else check_json_schema)(schema)
            _check_schema_fits(name, fn, schema)
        spec = ToolSpec(
            name=name,
            fn=fn,
            description=(description or "").strip() or docstring_summary(fn) or f"Execute {name}",
            parameters_schema=schema,
            strict=bool(strict),
            value_from_args=value_from_args,
            target_from_args=target_from_args,
            metadata_from_args=metadata_from_args,
            action_name=action_name,
            domain=domain,
            actor=actor,
            decision_mode=decision_mode,
        )
        self._tools[name] = spec
        self._openai_tools = None
        return spec

    def get(self, name: str) -> ToolSpec:
        try:
            return self._tools[name]
        except KeyError:
            raise KeyError(f"unknown tool {name!r}; registered tools: {self.names()}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    def names(self) -> list[str]:
        return list(self._tools)

    def openai_tools(self) -> list[dict[str, Any]]:
        """Every tool in the Responses API's flat function-tool format, in registration order.

        Built once per set of registrations (each turn sends it); callers must not mutate it.
        """
        if self._openai_tools is None:
            self._openai_tools = [spec.to_openai_tool() for spec in self._tools.values()]
        return self._openai_tools


def _check_schema_fits(name: str, fn: Callable[..., Any], schema: dict[str, Any]) -> None:
    """A given schema must only declare parameters `fn` accepts, and require those without defaults."""
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # no signature to compare with
        return
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    by_name = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        unknown = [
            prop for prop in properties if prop not in parameters or parameters[prop].kind not in by_name
        ]
        if unknown:
            raise ToolSchemaError(
                f"tool {name!r}: parameters_schema declares {unknown}, which the function does not accept "
                "as keyword arguments"
            )
    needed = [
        param_name
        for param_name, param in parameters.items()
        if param.default is inspect.Parameter.empty
        and param.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        and (param_name not in properties or param_name not in required or param.kind not in by_name)
    ]
    if needed:
        raise ToolSchemaError(
            f"tool {name!r}: the function's parameters {needed} have no default, so parameters_schema must "
            "declare them as required properties"
        )


def _is_async_callable(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))  # noqa: B004


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable
