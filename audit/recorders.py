"""What the lifecycle services call to write the audit history; each call appends one record.

Call these inside the transaction that makes the change they describe, so a change and its audit
record commit together or not at all. Arguments arrive already redacted for display (see
`governance.assembly.redact_call_arguments`); every text is scrubbed of secrets here again before
it is stored, and the search text is built from the same scrubbed values.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from governance.jsonsafe import json_safe
from governance.models import ToolRegistration
from governance.redaction import configured_secrets, scrub_secrets, scrub_text

from . import chain
from .models import AuditDecision, AuditKind, AuditRecord

# An execution event's status -> (kind of record, decision it stands for).
_EXECUTION_STATUS = {
    "executed": (AuditKind.EXECUTION, AuditDecision.ALLOWED),
    "tool_error": (AuditKind.EXECUTION, AuditDecision.ERROR),
    "blocked": (AuditKind.DECISION, AuditDecision.BLOCKED),
    "approval_required": (AuditKind.DECISION, AuditDecision.REQUIRES_APPROVAL),
    "denied": (AuditKind.DECISION, AuditDecision.DENIED),
    "expired": (AuditKind.DECISION, AuditDecision.EXPIRED),
}
DEFAULT_ACTOR = "dashboard"


def record_run_event(run_id, type_: str, payload: dict[str, Any], *, run_owner: str = "") -> AuditRecord | None:
    """The audit record for a RunEvent, for the types the audit keeps (status and tool calls)."""
    if type_ == "status":
        return _append(
            kind=AuditKind.RUN_STATUS, status=payload.get("status", ""), actor=run_owner, run_id=run_id,
            reason=payload.get("detail", ""), details={"detail": payload.get("detail", "")},
        )
    if type_ != "execution_event":
        return None
    kind, decision = _EXECUTION_STATUS.get(payload.get("status"), (AuditKind.DECISION, AuditDecision.ERROR))
    tool = payload.get("tool", "")
    domain, actor = _tool_context(tool)
    verdict = payload.get("decision") or {}
    approval = payload.get("approval") or {}
    details = {
        "arguments": payload.get("arguments"),
        "output": payload.get("output"),
        "error": payload.get("error"),
        "decision": {k: verdict.get(k) for k in ("outcome", "reason", "backend", "request_id")},
        "approval": approval or None,
        "trace_id": payload.get("trace_id"),
        "event_id": payload.get("event_id"),
    }
    return _append(
        kind=kind, decision=decision, status=payload.get("status", ""), tool=tool, actor=actor, domain=domain,
        run_id=run_id, approval_id=payload.get("approval_id"), call_id=payload.get("call_id", ""),
        policy_ids=", ".join(verdict.get("policy_ids") or []),
        reason=payload.get("reason") or verdict.get("reason", ""),
        details=details,
    )


def record_approval_resolution(approval, *, reviewer: str = "") -> AuditRecord:
    """The audit record of one approval request leaving `pending` (approved, denied or expired)."""
    domain, actor = _tool_context(approval.tool)
    return _append(
        kind=AuditKind.APPROVAL, decision=approval.status, status=approval.status, tool=approval.tool, actor=actor,
        domain=domain, reviewer=reviewer, run_id=approval.run_id, approval_id=approval.pk, call_id=approval.call_id,
        policy_ids=", ".join(approval.policy_ids or []), reason=approval.reason,
        details={"arguments": approval.arguments, "comment": approval.comment},
    )


_TOOL_CONTEXT_SECONDS = 5.0
_tool_contexts: dict[str, tuple[float, tuple[str, str]]] = {}


def _tool_context(tool: str) -> tuple[str, str]:
    """The tool's domain and actor, read at most every 5 s per tool (an admin's change shows after that)."""
    now = time.monotonic()
    cached = _tool_contexts.get(tool)
    if cached is not None and now - cached[0] < _TOOL_CONTEXT_SECONDS:
        return cached[1]
    row = ToolRegistration.objects.filter(name=tool).values_list("domain", "actor").first()
    context = ("", DEFAULT_ACTOR) if row is None else (row[0], row[1] or DEFAULT_ACTOR)
    _tool_contexts[tool] = (now, context)
    return context


def _append(*, details: dict[str, Any], **fields: Any) -> AuditRecord:
    return chain.append([build_record(details=details, **fields)])[0]


def build_record(*, details: dict[str, Any], **fields: Any) -> AuditRecord:
    """An unsaved AuditRecord with secrets scrubbed, details canonical and its search text built;
    `chain.append` gives it its place in the chain."""
    if fields.get("run_id") is not None:
        fields["run_id"] = uuid.UUID(str(fields["run_id"]))
    secrets = configured_secrets()  # read once per record, not once per field
    details = scrub_secrets(json_safe(details), secrets)
    fields = {k: scrub_text(v, secrets) if isinstance(v, str) else v for k, v in fields.items()}
    return AuditRecord(
        details=json.dumps(details, sort_keys=True, ensure_ascii=False, separators=(",", ":")),
        search_text=_search_text(fields, details),
        **fields,
    )


def _search_text(fields: dict[str, Any], details: Any) -> str:
    """The words full-text search sees: the record's texts and every key and value in its details."""
    parts = [str(fields.get(name) or "") for name in ("tool", "actor", "domain", "reviewer", "status", "reason",
                                                      "policy_ids", "call_id")]
    _collect(details, parts)
    return " ".join(p for p in parts if p)


def _collect(value: Any, parts: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            parts.append(str(key))
            _collect(item, parts)
    elif isinstance(value, list):
        for item in value:
            _collect(item, parts)
    elif value is not None and not isinstance(value, bool):
        parts.append(str(value))
