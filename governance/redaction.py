"""Redaction: argument fields an admin marks per tool, and secrets that must never be written down.

`redact_arguments` replaces the values at a tool's configured dotted paths ("card_number",
"customer.email", through lists too) with a marker before arguments are stored for display or
audit; the tool itself still receives the real values. `scrub_secrets` replaces the configured
API keys and anything shaped like an API key in any JSON-like value or text, and
`SecretsLogFilter` does the same to every log record, so secrets reach neither the audit log nor
the application log. `is_secret_field` names the model fields (a password hash, a key's hash) whose
values are never written down at all, whatever they look like.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings

REDACTED = "[redacted]"
SECRET = "[secret]"

# OpenAI keys (sk-..., sk-proj-...), bearer tokens, BIGHUB-style keys (bh_...) and the dashboard's own
# agent keys (gd_live_...); at least 16 characters after the prefix so ordinary words are never taken for keys.
_KEY_SHAPES = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{16,}|bh_[A-Za-z0-9_-]{16,}|gd_live_[A-Za-z0-9_-]{16,}|Bearer\s+[A-Za-z0-9._~+/-]{16,}=*)"
)
# A field named like a credential: password, secret_hash, key_hash, api_key, token, salt... (whole
# underscore-separated parts, so "description" or "tokenizer_name" are not taken for one).
_SECRET_FIELD = re.compile(r"(?:^|_)(?:password|passwd|secret|token|hash|digest|salt|key)(?:_|$)", re.IGNORECASE)
_PATH_PART = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class RedactionPathError(ValueError):
    """A redaction path that is not a dotted list of argument names."""


def parse_paths(text: str) -> list[str]:
    """The comma- or newline-separated dotted paths an admin typed, checked for shape."""
    paths = [part.strip() for part in re.split(r"[,\n]", text or "") if part.strip()]
    for path in paths:
        if not all(_PATH_PART.match(part) for part in path.split(".")):
            raise RedactionPathError(f"{path!r} is not a dotted path of argument names (e.g. customer.card_number)")
    return paths


def unknown_paths(paths: Iterable[str], schema: dict[str, Any]) -> list[str]:
    """The paths that name no property of the tool's JSON schema (through objects and arrays)."""
    return [path for path in paths if not _schema_has(schema, path.split("."))]


def _schema_has(schema: dict[str, Any], parts: list[str]) -> bool:
    if not parts:
        return True
    while schema.get("type") == "array" or (isinstance(schema.get("type"), list) and "array" in schema["type"]):
        schema = schema.get("items") or {}
    for option in schema.get("anyOf", []):
        if _schema_has(option, parts):
            return True
    properties = schema.get("properties") or {}
    if parts[0] in properties:
        return _schema_has(properties[parts[0]], parts[1:])
    extra = schema.get("additionalProperties")
    return isinstance(extra, dict) and _schema_has(extra, parts[1:])


def redact_arguments(arguments: Any, paths: Iterable[str]) -> Any:
    """A copy of `arguments` with the value at every path replaced by "[redacted]"."""
    result = arguments
    for path in paths:
        result = _redact(result, path.split("."))
    return result


def _redact(value: Any, parts: list[str]) -> Any:
    if isinstance(value, list):
        return [_redact(item, parts) for item in value]
    if not isinstance(value, dict) or parts[0] not in value:
        return value
    copy = dict(value)
    copy[parts[0]] = REDACTED if len(parts) == 1 else _redact(value[parts[0]], parts[1:])
    return copy


def is_secret_field(name: str) -> bool:
    """Whether a model field's value is a credential that must never be stored or shown."""
    return bool(_SECRET_FIELD.search(name))


def configured_secrets() -> list[str]:
    """The secret values in the settings (API keys), longest first; empty values are left out."""
    names = ("OPENAI_API_KEY", "BIGHUB_API_KEY", "SECRET_KEY")
    values = {str(getattr(settings, name, "") or "") for name in names}
    return sorted((v for v in values if len(v) >= 8), key=len, reverse=True)


def scrub_text(text: str, secrets: list[str] | None = None) -> str:
    for secret in configured_secrets() if secrets is None else secrets:
        text = text.replace(secret, SECRET)
    return _KEY_SHAPES.sub(SECRET, text)


def scrub_secrets(value: Any, secrets: list[str] | None = None) -> Any:
    """A copy of a JSON-like value with every secret in its strings (keys included) replaced."""
    secrets = configured_secrets() if secrets is None else secrets
    if isinstance(value, str):
        return scrub_text(value, secrets)
    if isinstance(value, dict):
        return {scrub_text(str(k), secrets): scrub_secrets(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_secrets(v, secrets) for v in value]
    return value


class SecretsLogFilter(logging.Filter):
    """Rewrites each record's message with secrets scrubbed (installed on every handler)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logged as it is rather than dropped
            return True
        scrubbed = scrub_text(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub_text(record.exc_text)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True
