"""Filling a JSON schema from the user's words: how the demo model writes function arguments.

Per property, by schema type:
- string whose name contains "id" (`order_id`, `customer_id`, `id`): an identifier from the text
  (`ord_123`, `cus_9`), preferring one whose prefix fits the name (`ord` ~ order, `cus` ~ customer);
  earlier user messages are searched too, so "refund it for 20" after "look up ord_5" finds ord_5;
- number / integer: the numbers in the text that are not part of an identifier, in order
  ("Refund ord_1 for 50" -> 50; "$1,250.50" -> 1250.5);
- enum: the enum value the text mentions; otherwise null when nullable, else the first value;
- boolean: true when the property's words appear, false when negated ("don't notify");
- email-like strings: an e-mail address; reason/note/comment strings: quoted text or what follows
  "because"; query/text/message strings: the clause itself;
- array of ids: every identifier in the text; nested objects: filled the same way.

A property nothing in the text fills is null when the schema allows null, left out when optional
in a non-strict schema, and otherwise reported missing (the demo model then asks for it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .demo_words import IDENTIFIER, name_words, stem

MISSING: Any = object()
_NUMBER = re.compile(r"(?<![\w.])-?\$?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w.]*\w)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|'([^']{2,})'")
_BECAUSE = re.compile(r"\b(?:because|since|due to|reason(?:\s+is)?:?)\s+(.+)$", re.I)
_NEGATION = re.compile(r"\b(?:not|no|don't|dont|do not|without|never|skip)\s+(?:\w+\s+){0,2}$", re.I)
_FREE_TEXT = ("query", "text", "message", "content", "prompt", "question", "description", "body", "search")
_REASON_TEXT = ("reason", "note", "comment", "justification", "explanation", "memo")


@dataclass
class Sources:
    """Where values are looked for, in order: the clause, the whole message, earlier messages."""

    clause: str
    message: str
    history: list[str] = field(default_factory=list)  # earlier user messages, most recent first
    tool_names: frozenset[str] = frozenset()
    used_ids: set[str] = field(default_factory=set)


def identifiers(text: str, tool_names: frozenset[str] = frozenset()) -> list[str]:
    found = []
    for match in IDENTIFIER.finditer(text):
        value = match.group(0)
        prefix = re.split(r"[_-]", value)[0]
        plausible = any(ch.isdigit() for ch in value) or len(prefix) <= 4
        if value not in tool_names and plausible and value not in found:
            found.append(value)
    return found


def numbers(text: str) -> list[int | float]:
    stripped = IDENTIFIER.sub(" ", text)
    values: list[int | float] = []
    for match in _NUMBER.finditer(stripped):
        raw = match.group(0).replace("$", "").replace(",", "")
        values.append(float(raw) if "." in raw else int(raw))
    return values


def fill_object(
    schema: dict[str, Any], sources: Sources, *, strict: bool, complete: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """The arguments for `schema`, and the names of required properties nothing could fill.

    With `complete`, those get a neutral placeholder ("", 0, false, [], {}) instead, as a model
    forced to answer (tool_choice "required", Structured Outputs) would.
    """
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or []) | (set(properties) if strict else set())
    arguments: dict[str, Any] = {}
    missing: list[str] = []
    for name, sub in properties.items():
        sub = sub if isinstance(sub, dict) else {}
        value = _extract(name, sub, sources, strict=strict, complete=complete)
        if isinstance(value, _Nested):
            missing.extend(f"{name}.{inner}" for inner in value.missing)
            value = value.value
        if value is MISSING:
            if "default" in sub:
                value = sub["default"]
            elif _nullable(sub) and name in required:
                value = None
            elif name not in required:
                continue
            elif complete:
                value = placeholder(sub)
            else:
                missing.append(name)
                continue
        arguments[name] = value
    return arguments, missing


@dataclass
class _Nested:
    value: Any
    missing: list[str]


def _types(schema: dict[str, Any]) -> set[str]:
    kinds = schema.get("type")
    found = set(kinds) if isinstance(kinds, list) else ({kinds} if isinstance(kinds, str) else set())
    for sub in schema.get("anyOf") or schema.get("oneOf") or []:
        if isinstance(sub, dict):
            found |= _types(sub)
    if not found and "enum" in schema:
        found = {type_name(v) for v in schema["enum"]}
    return found


def type_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}.get(
        type(value), "object"
    )


def _nullable(schema: dict[str, Any]) -> bool:
    return "null" in _types(schema) or None in (schema.get("enum") or [])


def _main_branch(schema: dict[str, Any]) -> dict[str, Any]:
    """For `anyOf: [{...}, {"type": "null"}]`, the non-null branch."""
    for sub in schema.get("anyOf") or schema.get("oneOf") or []:
        if isinstance(sub, dict) and sub.get("type") != "null":
            return {**schema, **sub}
    return schema


def placeholder(schema: dict[str, Any]) -> Any:
    """A neutral value of the schema's type."""
    main = _main_branch(schema)
    if main.get("enum"):
        return main["enum"][0]
    kinds = _types(main) - {"null"}
    for kind, value in (("string", ""), ("integer", 0), ("number", 0), ("boolean", False), ("array", [])):
        if kind in kinds:
            return value
    return {}


def _extract(name: str, schema: dict[str, Any], sources: Sources, *, strict: bool, complete: bool) -> Any:
    schema = _main_branch(schema)
    if "const" in schema:
        return schema["const"]
    kinds = _types(schema) - {"null"}
    words = name_words(name)
    if schema.get("enum"):
        return _enum(schema["enum"], sources)
    if "boolean" in kinds:
        return _boolean(words, sources)
    if kinds & {"number", "integer"}:
        value = _first(sources, lambda text: numbers(text), deep=False)
        if value is not MISSING and "number" not in kinds:
            value = round(value)
        return value
    if "string" in kinds:
        return _string(name, words, sources)
    if "array" in kinds:
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        if items.get("enum"):
            texts = f"{sources.clause} {sources.message}".lower()
            return [v for v in items["enum"] if isinstance(v, str) and _mentions(texts, v)] or MISSING
        if "id" in words or any(w.endswith("ids") for w in words):
            return identifiers(sources.clause, sources.tool_names) or MISSING
        return MISSING
    if "object" in kinds and isinstance(schema.get("properties"), dict):
        value, missing = fill_object(schema, sources, strict=strict, complete=complete)
        return _Nested(value, missing)
    return MISSING


def _first(sources: Sources, find: Any, *, deep: bool) -> Any:
    texts = [sources.clause, sources.message, *(sources.history if deep else [])]
    for text in texts:
        values = find(text)
        if values:
            return values[0]
    return MISSING


def _mentions(text: str, value: str) -> bool:
    spoken = value.lower().replace("_", " ")
    return bool(re.search(rf"\b{re.escape(spoken)}\b", text) or re.search(rf"\b{re.escape(value.lower())}\b", text))


def _enum(values: list[Any], sources: Sources) -> Any:
    for text in (sources.clause, sources.message):
        for value in values:
            if isinstance(value, str) and _mentions(text.lower(), value):
                return value
    if None in values:
        return None
    return values[0] if values else MISSING


def _boolean(words: list[str], sources: Sources) -> Any:
    keys = [stem(w) for w in words if w not in ("is", "should", "include", "enable", "use", "with", "allow")]
    for text in (sources.clause, sources.message):
        lowered = text.lower()
        for match in re.finditer(r"[a-z0-9']+", lowered):
            if keys and stem(match.group(0)) == keys[0]:
                return not _NEGATION.search(lowered[: match.start()])
    return MISSING


def _string(name: str, words: list[str], sources: Sources) -> Any:
    if "id" in words or name.lower().endswith("id"):
        return _identifier(words, sources)
    if any("email" in w for w in words):
        return _first(sources, _EMAIL.findall, deep=True)
    if any(w in _REASON_TEXT for w in words):
        for text in (sources.clause, sources.message):
            quoted = _quoted(text)
            if quoted:
                return quoted
            because = _BECAUSE.search(text)
            if because:
                return because.group(1).strip().rstrip(".")
        return MISSING
    if any(w in _FREE_TEXT for w in words):
        return _quoted(sources.clause) or sources.clause
    labelled = _labelled(words, sources)
    if labelled is not MISSING:
        return labelled
    return _quoted(sources.clause) or MISSING


def _quoted(text: str) -> str | None:
    match = _QUOTED.search(text)
    return next(group for group in match.groups() if group) if match else None


def _labelled(words: list[str], sources: Sources) -> Any:
    label = r"[\s_]+".join(re.escape(w) for w in words)
    pattern = re.compile(rf"\b{label}\s*(?:is|=|:|of)?\s*([\w@.\-]+)", re.I)
    for text in (sources.clause, sources.message):
        match = pattern.search(text)
        if match:
            return match.group(1).rstrip(".")
    return MISSING


def _identifier(words: list[str], sources: Sources) -> Any:
    hint = next((w for w in words if w not in ("id", "ids")), "")
    texts = [sources.clause, sources.message, *sources.history]
    for prefer_fitting in (True, False):
        for text in texts:
            for value in identifiers(text, sources.tool_names):
                if value in sources.used_ids:
                    continue
                if prefer_fitting and not _fits(value, hint):
                    continue
                sources.used_ids.add(value)
                return value
    return MISSING


def _fits(value: str, hint: str) -> bool:
    prefix = re.split(r"[_-]", value)[0].lower()
    if not hint:
        return True
    return len(prefix) >= 2 and (hint.startswith(prefix) or prefix.startswith(hint))
