"""Request validation for `POST /v1/responses`, with the real API's 400 messages.

Catches what api.openai.com rejects and a client is likely to get wrong: missing `model`/`input`,
unknown parameters (e.g. Chat Completions' `messages`), wrong types, Chat Completions' nested tool
format (`{"type": "function", "function": {...}}` -> "Missing required parameter: 'tools[0].name'."),
strict function schemas without `additionalProperties: false` or without every property in
`required`, a `tool_choice` naming no tool, out-of-range sampling parameters.

Input items are checked separately, against the conversation, in `conversation`.
"""

from __future__ import annotations

import re
import typing
from typing import Any

from .errors import (
    ApiError,
    bad_request,
    invalid_type,
    invalid_value,
    missing_parameter,
    unknown_parameter,
)

_FALLBACK_PARAMS = frozenset(
    {
        "background",
        "conversation",
        "include",
        "input",
        "instructions",
        "max_output_tokens",
        "max_tool_calls",
        "metadata",
        "model",
        "parallel_tool_calls",
        "previous_response_id",
        "prompt",
        "prompt_cache_key",
        "prompt_cache_retention",
        "reasoning",
        "safety_identifier",
        "service_tier",
        "store",
        "stream",
        "stream_options",
        "temperature",
        "text",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "truncation",
        "user",
    }
)
_FALLBACK_INCLUDES = (
    "file_search_call.results",
    "web_search_call.results",
    "web_search_call.action.sources",
    "message.input_image.image_url",
    "computer_call_output.output.image_url",
    "code_interpreter_call.outputs",
    "reasoning.encrypted_content",
    "message.output_text.logprobs",
)


def _sdk_params() -> frozenset[str]:
    """The create parameters the installed SDK knows, so a newer SDK's fields are not rejected."""
    try:
        from openai.types.responses import response_create_params as params  # noqa: PLC0415 -- guarded: see except
    except ImportError:  # pragma: no cover - the SDK is a dependency
        return _FALLBACK_PARAMS
    keys: set[str] = set()
    for typed_dict in (params.ResponseCreateParamsStreaming, params.ResponseCreateParamsNonStreaming):
        keys |= set(typed_dict.__required_keys__) | set(typed_dict.__optional_keys__)
    return frozenset(keys | {"stream"})


def _sdk_includes() -> tuple[str, ...]:
    try:
        from openai.types.responses.response_includable import (  # noqa: PLC0415 -- guarded: see except
            ResponseIncludable,
        )
    except ImportError:  # pragma: no cover
        return _FALLBACK_INCLUDES
    return typing.get_args(ResponseIncludable) or _FALLBACK_INCLUDES


KNOWN_PARAMS = _sdk_params()
INCLUDABLES = _sdk_includes()
# Parameters the emulator cannot honour; rejected loudly rather than silently ignored.
UNSUPPORTED = ("conversation", "prompt")
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_FUNCTION_TOOL_KEYS = frozenset(
    {
        "type",
        "name",
        "description",
        "parameters",
        "strict",
        "defer_loading",
        "allowed_callers",
        "async",
        "output_schema",
    }
)


def validate_create(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("Invalid body: expected a JSON object.")
    for key in body:
        if key not in KNOWN_PARAMS:
            raise unknown_parameter(key)
    for key in UNSUPPORTED:
        if body.get(key) is not None:
            raise bad_request(f"'{key}' is not supported by the offline Responses API emulator.", param=key)
    _check_model_and_input(body)
    _check_scalars(body)
    _check_include(body.get("include"))
    _check_metadata(body.get("metadata"))
    _check_tools(body.get("tools"))
    _check_tool_choice(body.get("tool_choice"), body.get("tools") or [])
    _check_reasoning(body.get("reasoning"))
    _check_text(body.get("text"))
    return body


def _check_model_and_input(body: dict[str, Any]) -> None:
    if body.get("model") is None:
        raise missing_parameter("model")
    if not isinstance(body["model"], str):
        raise invalid_type("model", "a string", body["model"])
    if body.get("input") is None:
        raise missing_parameter("input")
    value = body["input"]
    if not isinstance(value, str | list):
        raise invalid_type("input", "one of a string or array of input items", value)
    if value == [] and not body.get("previous_response_id"):
        raise bad_request(
            "Invalid 'input': empty array. Expected an array with minimum length 1, but got an empty array instead.",
            param="input",
            code="empty_array",
        )
    previous = body.get("previous_response_id")
    if previous is not None:
        if not isinstance(previous, str):
            raise invalid_type("previous_response_id", "a string", previous)
        if not previous.startswith("resp"):
            raise invalid_value(
                "previous_response_id",
                f"Invalid 'previous_response_id': '{previous}'. Expected an ID that begins with 'resp'.",
            )


def _check_scalars(body: dict[str, Any]) -> None:
    for key in ("store", "stream", "parallel_tool_calls", "background"):
        if body.get(key) is not None and not isinstance(body[key], bool):
            raise invalid_type(key, "a boolean", body[key])
    for key in ("instructions", "user", "safety_identifier", "prompt_cache_key"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise invalid_type(key, "a string", body[key])
    _check_range(body, "temperature", 0, 2)
    _check_range(body, "top_p", 0, 1)
    tokens = body.get("max_output_tokens")
    if tokens is not None:
        if isinstance(tokens, bool) or not isinstance(tokens, int):
            raise invalid_type("max_output_tokens", "an integer", tokens)
        if tokens < 16:
            raise bad_request(
                "Invalid 'max_output_tokens': integer below minimum value. "
                f"Expected a value >= 16, but got {tokens} instead.",
                param="max_output_tokens",
                code="integer_below_min_value",
            )


def _check_range(body: dict[str, Any], key: str, low: float, high: float) -> None:
    value = body.get(key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_type(key, "a decimal", value)
    if value < low:
        raise bad_request(
            f"Invalid '{key}': decimal below minimum value. Expected a value >= {low}, but got {value} instead.",
            param=key,
            code="decimal_below_min_value",
        )
    if value > high:
        raise bad_request(
            f"Invalid '{key}': decimal above maximum value. Expected a value <= {high}, but got {value} instead.",
            param=key,
            code="decimal_above_max_value",
        )


def _check_include(include: Any) -> None:
    if include is None:
        return
    if not isinstance(include, list):
        raise invalid_type("include", "an array", include)
    for i, value in enumerate(include):
        if value not in INCLUDABLES:
            supported = ", ".join(f"'{v}'" for v in INCLUDABLES)
            raise invalid_value(f"include[{i}]", f"Invalid value: '{value}'. Supported values are: {supported}.")


def _check_metadata(metadata: Any) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise invalid_type("metadata", "an object", metadata)
    if len(metadata) > 16:
        raise bad_request(
            "Invalid 'metadata': too many properties. Expected an object with at most 16 "
            f"properties, but got an object with {len(metadata)} properties instead.",
            param="metadata",
            code="object_above_max_properties",
        )
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise invalid_type(f"metadata.{key}", "a string", value)
        if len(key) > 64 or len(value) > 512:
            raise invalid_value(f"metadata.{key}", f"Invalid 'metadata.{key}': string too long.")


# --- tools ------------------------------------------------------------------------------------


def _check_tools(tools: Any) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise invalid_type("tools", "an array", tools)
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise invalid_type(f"tools[{i}]", "an object", tool)
        if tool.get("type") is None:
            raise missing_parameter(f"tools[{i}].type")
        if tool["type"] == "function":
            _check_function_tool(i, tool)


def _check_function_tool(i: int, tool: dict[str, Any]) -> None:
    name = tool.get("name")
    if name is None:
        raise missing_parameter(f"tools[{i}].name")
    for key in tool:
        if key not in _FUNCTION_TOOL_KEYS:
            raise unknown_parameter(f"tools[{i}].{key}")
    if not isinstance(name, str):
        raise invalid_type(f"tools[{i}].name", "a string", name)
    if not _TOOL_NAME.match(name):
        raise invalid_value(
            f"tools[{i}].name",
            f"Invalid 'tools[{i}].name': string does not match pattern. "
            "Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
        )
    if tool.get("strict") is not None and not isinstance(tool["strict"], bool):
        raise invalid_type(f"tools[{i}].strict", "a boolean", tool["strict"])
    parameters = tool.get("parameters")
    if parameters is None:
        return
    if not isinstance(parameters, dict):
        raise invalid_type(f"tools[{i}].parameters", "an object", parameters)
    param = f"tools[{i}].parameters"
    if parameters.get("type") != "object":
        raise bad_request(
            f"Invalid schema for function '{name}': schema must be a JSON Schema of 'type: \"object\"', "
            f"got 'type: \"{parameters.get('type')}\"'.",
            param=param,
            code="invalid_function_parameters",
        )
    if tool.get("strict") is True:
        problem = strict_schema_problem(parameters)
        if problem:
            raise bad_request(
                f"Invalid schema for function '{name}': {problem}",
                param=param,
                code="invalid_function_parameters",
            )


def strict_schema_problem(schema: Any, context: tuple[str, ...] = ()) -> str | None:
    """Why `schema` is not valid for strict mode (Structured Outputs), or None."""
    if not isinstance(schema, dict):
        return None
    kinds = schema.get("type")
    is_object = kinds == "object" or (isinstance(kinds, list) and "object" in kinds) or "properties" in schema
    if is_object:
        if schema.get("additionalProperties") is not False:
            return f"In context={context!r}, 'additionalProperties' is required to be supplied and to be false."
        properties = schema.get("properties") or {}
        required = schema.get("required")
        listed = required if isinstance(required, list) else []
        missing = [key for key in properties if key not in listed]
        if not isinstance(required, list) or missing:
            suffix = f" Missing '{missing[0]}'." if missing else ""
            return (
                f"In context={context!r}, 'required' is required to be supplied and to be an array "
                f"including every key in properties.{suffix}"
            )
        for key, sub in properties.items():
            if problem := strict_schema_problem(sub, (*context, "properties", key)):
                return problem
    if problem := strict_schema_problem(schema.get("items"), (*context, "items")):
        return problem
    for keyword in ("anyOf", "allOf"):
        for n, sub in enumerate(schema.get(keyword) or []):
            if problem := strict_schema_problem(sub, (*context, keyword, str(n))):
                return problem
    for keyword in ("$defs", "definitions"):
        for key, sub in (schema.get(keyword) or {}).items():
            if problem := strict_schema_problem(sub, (*context, keyword, key)):
                return problem
    return None


def _check_tool_choice(choice: Any, tools: list[Any]) -> None:
    if choice is None or choice in ("auto", "none", "required"):
        return
    if isinstance(choice, str):
        raise invalid_value(
            "tool_choice", f"Invalid value: '{choice}'. Supported values are: 'none', 'auto', and 'required'."
        )
    if not isinstance(choice, dict):
        raise invalid_type("tool_choice", "one of a string or object", choice)
    if choice.get("type") == "function":
        names = {tool.get("name") for tool in tools if isinstance(tool, dict) and tool.get("type") == "function"}
        if choice.get("name") not in names:
            raise bad_request("Tool choice 'function' not found in 'tools' parameter.", param="tool_choice")


def _check_reasoning(reasoning: Any) -> None:
    if reasoning is None:
        return
    if not isinstance(reasoning, dict):
        raise invalid_type("reasoning", "an object", reasoning)
    summary = reasoning.get("summary")
    if summary is not None and summary not in ("auto", "concise", "detailed"):
        raise invalid_value(
            "reasoning.summary",
            f"Invalid value: '{summary}'. Supported values are: 'auto', 'concise', and 'detailed'.",
        )
    effort = reasoning.get("effort")
    if effort is not None and effort not in ("none", "minimal", "low", "medium", "high", "xhigh"):
        raise invalid_value(
            "reasoning.effort",
            f"Invalid value: '{effort}'. Supported values are: 'none', "
            "'minimal', 'low', 'medium', 'high', and 'xhigh'.",
        )


def _check_text(text: Any) -> None:
    if text is None:
        return
    if not isinstance(text, dict):
        raise invalid_type("text", "an object", text)
    fmt = text.get("format")
    if fmt is None:
        return
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind not in ("text", "json_object", "json_schema"):
        raise invalid_value(
            "text.format.type",
            f"Invalid value: '{kind}'. Supported values are: 'text', 'json_object', and 'json_schema'.",
        )
    if kind == "json_schema":
        for key in ("name", "schema"):
            if fmt.get(key) is None:
                raise missing_parameter(f"text.format.{key}")
        if fmt.get("strict") is True and (problem := strict_schema_problem(fmt["schema"])):
            raise ApiError(
                400,
                f"Invalid schema for response_format '{fmt['name']}': {problem}",
                param="text.format.schema",
                code="invalid_json_schema",
            )
