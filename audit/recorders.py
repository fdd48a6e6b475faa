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
from typing import Any, Literal

from governance.jsonsafe import json_safe
from governance.models import DASHBOARD_ACTOR, ToolRegistration
from governance.redaction import SECRET, configured_secrets, is_secret_field, scrub_secrets, scrub_text

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


def record_run_event(run_id, type_: str, payload: dict[str, Any], *, run_owner: str = "") -> AuditRecord | None:
    """The audit record for a RunEvent, for the types the audit keeps: status changes, tool calls, and
    what a remote agent sent (its decisions, outcome reports and memory events, runs/remote.py)."""
    if type_ == "remote_decision":
        return record_remote_decision(run_id=run_id, **payload)
    if type_ == "remote_outcome":
        return record_agent_report(what="outcome", run_id=run_id, **payload)
    if type_ == "remote_memory":
        return record_agent_report(what="memory", run_id=run_id, **payload)
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
        "decision": {k: verdict.get(k) for k in ("outcome", "reason", "backend", "request_id", "policy_version",
                                                 "observed_outcome")},
        "approval": approval or None,
        "trace_id": payload.get("trace_id"),
        "event_id": payload.get("event_id"),
    }
    if payload.get("grant_id"):  # a call a sticky grant settled names it (approvals/grants.py)
        details["grant_id"] = payload["grant_id"]
    return _append(
        kind=kind, decision=decision, status=payload.get("status", ""), tool=tool, actor=actor, domain=domain,
        run_id=run_id, approval_id=payload.get("approval_id"), call_id=payload.get("call_id", ""),
        policy_ids=", ".join(verdict.get("policy_ids") or []),
        reason=payload.get("reason") or verdict.get("reason", ""),
        details=details,
    )


ConfigurationAction = Literal["created", "changed", "deleted"]
SYSTEM = "system"
SYSTEM_NOTE = "system: no signed-in user made this change (a management command such as seed_demo, a shell or a worker)"


def record_configuration_change(
    *, model_label: str, model_name: str = "", object_id: Any, object_repr: str, action: ConfigurationAction,
    before: dict[str, Any], after: dict[str, Any], by: str = "",
) -> AuditRecord | None:
    """The audit record of one configuration change (a tool, a policy, a user's groups...), or None
    when nothing changed.

    `before` and `after` are the object's field values (empty `before` for created, empty `after`
    for deleted); a change keeps only the fields whose values differ. A field named like a
    credential (`password`, `secret_hash`, see `governance.redaction.is_secret_field`) is stored as
    "[secret]" on both sides, so the record says it changed and never what it was or became. `by`
    is the username acting; empty means no signed-in user, recorded as "system".
    """
    if action == "changed":
        names = [name for name in after if name in before and before[name] != after[name]]
        if not names:
            return None
        before, after = {n: before[n] for n in names}, {n: after[n] for n in names}
    before, after = _without_secret_values(before), _without_secret_values(after)
    model_name = model_name or model_label.rpartition(".")[2].lower()
    summary = f"{model_name} “{object_repr}” {action}"
    if action == "changed":
        summary += ": " + ", ".join(sorted(after))
    details = {"model": model_label, "model_name": model_name, "object_id": str(object_id), "object": object_repr,
               "before": before, "after": after, "by": by or SYSTEM_NOTE}
    return _append(kind=AuditKind.CONFIGURATION, status=action, actor=by or SYSTEM, reason=summary, details=details)


def _without_secret_values(values: dict[str, Any]) -> dict[str, Any]:
    return {name: SECRET if is_secret_field(name) and value not in ("", None) else value
            for name, value in values.items()}


def record_approval_resolution(approval, *, reviewer: str = "", via: str = "", edited_arguments: Any = None,
                               changes: list[str] | None = None) -> AuditRecord:
    """The audit record of one approval request leaving `pending` (approved, denied or expired).

    A remote agent's request names its own actor and domain (in its decision); `via` names the API key
    an approver integration resolved it with. An approval with edited arguments keeps both: `arguments`
    (what the model asked for), `edited_arguments` (what the reviewer approved) and `changes` ("field:
    old -> new"), all as shown (redacted)."""
    domain, actor = _approval_context(approval)
    details = {"arguments": approval.arguments, "comment": approval.comment}
    if via:
        details["via"] = via
    if edited_arguments is not None:
        details["edited_arguments"] = edited_arguments
        details["changes"] = list(changes or [])
    return _append(
        kind=AuditKind.APPROVAL, decision=approval.status, status=approval.status, tool=approval.tool, actor=actor,
        domain=domain, reviewer=reviewer, run_id=approval.run_id, approval_id=approval.pk, call_id=approval.call_id,
        policy_ids=", ".join(approval.policy_ids or []), reason=approval.reason, details=details,
    )


def record_grant(*, what: str, grant_id: int, effect: str, tool: str, scope: str, by: str, run_id=None,
                 approval_id: int | None = None, call_id: str = "", reason: str = "") -> AuditRecord:
    """The audit record of a sticky grant (approvals/grants.py) being made (`what="grant_created"`), revoked
    (`"grant_revoked"`) or settling one call instead of an approval request (`"grant_settled"`, with the
    call's id). `by` is who granted it (who revoked it, for a revocation); the grant is named by its id."""
    decision = {"approve": AuditDecision.APPROVED, "deny": AuditDecision.DENIED}.get(effect, "")
    return _append(
        kind=AuditKind.APPROVAL, decision=decision if what == "grant_settled" else "", status=what, tool=tool[:64],
        reviewer=by, run_id=run_id, approval_id=approval_id, call_id=call_id, reason=reason,
        details={"grant_id": grant_id, "effect": effect, "scope": scope},
    )


def record_approval_vote(approval, *, reviewer: str, approved_by: list[str], needed: int, comment: str = "",
                         via: str = "") -> AuditRecord:
    """The audit record of one reviewer's approval of a request that needs several (a quorum,
    approvals/quorum.py): status "vote", with who has approved so far. The request's resolution gets its
    own record (`record_approval_resolution`) when the quorum is made."""
    domain, actor = _approval_context(approval)
    details = {"arguments": approval.arguments, "comment": comment, "approved_by": approved_by, "needed": needed}
    if via:
        details["via"] = via
    return _append(
        kind=AuditKind.APPROVAL, decision=AuditDecision.APPROVED, status="vote", tool=approval.tool, actor=actor,
        domain=domain, reviewer=reviewer, run_id=approval.run_id, approval_id=approval.pk, call_id=approval.call_id,
        policy_ids=", ".join(approval.policy_ids or []),
        reason=f"{len(approved_by)} of {needed} approvals: {', '.join(approved_by)}", details=details,
    )


def _approval_context(approval) -> tuple[str, str]:
    """The domain and actor of a request: its tool's, or, for a remote agent's, those its call named."""
    domain, actor = _tool_context(approval.tool)
    decision = approval.decision if isinstance(approval.decision, dict) else {}
    if decision.get("source") == "api":
        domain, actor = decision.get("domain") or domain, decision.get("actor") or actor
    return domain, actor


def record_approval_deadline(approval, *, what: Literal["reminder", "escalated"], group: str = "") -> AuditRecord:
    """The audit record of a deadline passing for a request still pending (approvals/deadlines.py): the
    half-time reminder (`what="reminder"`), or its escalation to `group` with its new expiry."""
    domain, actor = _tool_context(approval.tool)
    reason = (f"escalated to {group or 'its escalation group'}: nobody decided in time"
              if what == "escalated" else "reminder sent: half of its approval window has passed")
    expires_at = approval.expires_at.isoformat() if approval.expires_at else None
    return _append(
        kind=AuditKind.APPROVAL, status=what, tool=approval.tool, actor=actor, domain=domain, run_id=approval.run_id,
        approval_id=approval.pk, call_id=approval.call_id, reason=reason,
        details={"deadline": what, "escalation_group": group or None, "expires_at": expires_at},
    )


def record_remote_decision(
    *, key_name: str, actor: str, domain: str, tool: str, outcome: str, reason: str, policy_ids: list[str],
    request_id: str, session: str, arguments: Any, value: float | None, target: str | None, run_id=None,
    approval_id: int | None = None, policy_version: int | None = None, observed_outcome: str | None = None,
    **_shown: Any,
) -> AuditRecord:
    """The audit record of a decision the dashboard made for a remote agent through its API (in the run of
    its session, raising approval request `approval_id` when it requires approval) under policy set version
    `policy_version`; `observed_outcome`: what it would have been, let through in an observe-only domain.
    Other keys of a `remote_decision` event's payload are for its timeline only."""
    return _append(
        kind=AuditKind.DECISION, decision=outcome, status=outcome, **_clipped(tool=tool, actor=actor, domain=domain),
        policy_ids=", ".join(policy_ids)[:500], reason=reason, run_id=run_id, approval_id=approval_id,
        details={"source": "api", "key": key_name, "request_id": request_id, "session": session,
                 "arguments": arguments, "value": value, "target": target, "policy_version": policy_version,
                 "observed_outcome": observed_outcome},
    )


def record_agent_report(
    *, what: str, key_name: str, actor: str, domain: str, tool: str, status: str, reason: str, request_id: str,
    session: str, details: dict[str, Any], run_id=None,
) -> AuditRecord:
    """The audit record of what a remote agent reported: an outcome (`what="outcome"`) or memory events."""
    return _append(
        kind=AuditKind.AGENT_REPORT, status=status[:30], **_clipped(tool=tool, actor=actor, domain=domain),
        run_id=run_id, reason=reason, details={"source": "api", "report": what, "key": key_name,
                                               "request_id": request_id, "session": session, **details},
    )


def record_api_refusal(
    *, status: int, reason: str, method: str, path: str, key_name: str = "", key_prefix: str = "", actor: str = "",
    domain: str = "", tool: str = "", client: str = "",
) -> AuditRecord:
    """The audit record of one request the agents' API refused (its HTTP status, why, and who asked).

    Only values arrive here: the key's name and visible prefix, never its secret."""
    return _append(
        kind=AuditKind.API_REFUSAL, status=str(status), **_clipped(tool=tool, actor=actor, domain=domain),
        reason=reason, details={"method": method, "path": path, "key": key_name, "key_prefix": key_prefix,
                                "client": client},
    )


def _clipped(*, tool: str, actor: str, domain: str) -> dict[str, str]:
    """Names a remote agent sent, cut to the audit columns' lengths (the full request is refused or kept elsewhere)."""
    return {"tool": tool[:64], "actor": actor[:150], "domain": domain[:100]}


# A refused login's event -> the words its record's reason starts with.
_ACCESS_EVENTS = {
    "login_failed": "Failed login",
    "locked_out": "Locked out after too many failed logins",
}


def record_access(*, event: str, username: str, ip_address: str, path: str) -> AuditRecord:
    """The audit record of a refused login (`event` one of `_ACCESS_EVENTS`): the username that was
    tried (as the actor), the client's address and the login page it used."""
    username = username[:150]  # whatever was typed: the actor column holds 150 characters
    return _append(
        kind=AuditKind.ACCESS, status=event, actor=username,
        reason=f"{_ACCESS_EVENTS[event]}: username {username!r} from {ip_address or 'an unknown address'} "
               f"on {path}",
        details={"username": username, "ip_address": ip_address, "path": path},
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
    context = ("", DASHBOARD_ACTOR) if row is None else (row[0], row[1] or DASHBOARD_ACTOR)
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
