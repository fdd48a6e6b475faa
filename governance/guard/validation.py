"""Parsing and validating the arguments a model sends for a tool call.

`parse_tool_arguments(raw, schema)` turns the `arguments` string of a `function_call` item into a
dict, or raises `ToolArgumentsError` whose `reason` says what is wrong in words a model (it is sent
back as the call's output) and a reviewer can act on:

- too large: "arguments are 70,001 bytes, over the 64,000-byte limit" (checked before parsing);
- malformed JSON: "malformed JSON at line 1, column 12: Expecting ',' delimiter"; also a key given
  twice and NaN/Infinity, which JSON does not have;
- not an object: "expected a JSON object, got an array";
- a schema violation, the most relevant one with its path: "amount: 'abc' is not of type 'number'".

An empty string counts as `{}` (some models send it for parameterless tools); the schema then says
whether that is acceptable. Schemas are validated with Draft 2020-12; each distinct schema is
compiled once and cached.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from .errors import ToolArgumentsError

__all__ = ["DEFAULT_MAX_BYTES", "compiled_validator", "parse_tool_arguments", "validate_arguments"]

DEFAULT_MAX_BYTES = 64_000
_MAX_MESSAGE_CHARS = 300


class _Rejected(ValueError):
    """JSON that the standard parser accepts but a tool call must not carry."""


def parse_tool_arguments(
    raw: str, schema: dict[str, Any], *, max_bytes: int = DEFAULT_MAX_BYTES
) -> dict[str, Any]:
    """The arguments as a dict, validated against `schema`; `ToolArgumentsError` otherwise."""
    if isinstance(raw, Mapping):  # already decoded (e.g. a silent check with a dict)
        try:
            raw = json.dumps(raw)
        except (TypeError, ValueError) as exc:
            raise ToolArgumentsError(f"arguments are not JSON-serialisable: {exc}") from None
    elif isinstance(raw, bytes | bytearray):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ToolArgumentsError(f"arguments are not valid UTF-8 (byte {exc.start})") from None
    elif not isinstance(raw, str):
        raise ToolArgumentsError(f"arguments must be a JSON string, got {type(raw).__name__}")
    size = len(raw.encode("utf-8"))
    if size > max_bytes:
        raise ToolArgumentsError(f"arguments are {size:,} bytes, over the {max_bytes:,}-byte limit")
    try:
        text = raw if raw.strip() else "{}"
        arguments = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        reason = f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise ToolArgumentsError(reason) from None
    except _Rejected as exc:
        raise ToolArgumentsError(f"malformed JSON: {exc}") from None
    except RecursionError:
        raise ToolArgumentsError("malformed JSON: nested too deeply") from None
    if not isinstance(arguments, dict):
        raise ToolArgumentsError(f"expected a JSON object, got {_json_kind(arguments)}")
    validate_arguments(arguments, schema)
    return arguments


def validate_arguments(arguments: dict[str, Any], schema: dict[str, Any]) -> None:
    """Raise `ToolArgumentsError` with the most relevant violation if `arguments` does not match `schema`."""
    validator = compiled_validator(schema)
    if validator.is_valid(arguments):  # the common case; best_match walks every error, so only on failure
        return
    error = best_match(validator.iter_errors(arguments))
    if error is None:
        return
    message = error.message
    if len(message) > _MAX_MESSAGE_CHARS:
        message = message[: _MAX_MESSAGE_CHARS - 3] + "..."
    path = json_path(error.absolute_path)
    raise ToolArgumentsError(f"{path}: {message}" if path else message)


def compiled_validator(schema: dict[str, Any]) -> Draft202012Validator:
    """The Draft 2020-12 validator for `schema`, compiled once per distinct schema."""
    cached = _by_identity.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    validator = _compile(json.dumps(schema, sort_keys=True, separators=(",", ":")))
    _by_identity[id(schema)] = (schema, validator)  # holds `schema`, so its id cannot be reused
    return validator


# Registered tools keep one schema object for life: skip re-serialising it on every call.
_by_identity: dict[int, tuple[dict[str, Any], Draft202012Validator]] = {}


@functools.lru_cache(maxsize=512)
def _compile(canonical: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(canonical))


def json_path(parts: Iterable[str | int]) -> str:
    """`items[2].sku` for the path ("items", 2, "sku"); "" for the root."""
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.isidentifier():
            path += f".{part}" if path else part
        else:
            path += f"[{json.dumps(part)}]"
    return path


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Rejected(f"key {key!r} appears more than once")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise _Rejected(f"{name} is not a JSON value")


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null"
