"""Recording what remote agents sent: one AgentActivity row and its audit record, written together.

Every decision, outcome report and memory ingest received through the API is written here, and
only here, so the session timeline and the audit history cannot disagree. Arguments are stored
with the tool's redact fields replaced, as `governance.assembly.redact_call_arguments` does (for a
decision, also its top-level value and target when their argument is a redacted one); every text is
scrubbed of secrets. Callers hold the transaction.

A session is the request's `context.session_id`, else its `trajectory_id`, else one per key and day.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils import timezone

from audit import recorders
from governance.assembly import redact_call_arguments
from governance.decisions import Decision
from governance.jsonsafe import json_safe
from governance.models import ToolRegistration
from governance.redaction import REDACTED, parse_paths, redact_arguments, scrub_secrets

from .models import ActivityKind, AgentActivity, AgentKey

if TYPE_CHECKING:
    from .evaluate import RemoteCall


def session_of(key: AgentKey, context: dict[str, Any] | None, *, now=None) -> str:
    """The session a request belongs to (see the module docstring)."""
    context = context or {}
    for name in ("session_id", "trajectory_id"):
        if isinstance(context.get(name), str) and context[name]:
            return context[name][:200]
    return daily_session(key, now=now)


def daily_session(key: AgentKey, *, now=None) -> str:
    return f"{key.prefix}:{(now or timezone.now()).date().isoformat()}"


def record_decision(*, key: AgentKey, call: RemoteCall, decision: Decision, answer: dict[str, Any],
                    session: str) -> AgentActivity:
    """Side effects: one AgentActivity (decision) and one audit DECISION record."""
    arguments, value, target = _redacted(call)
    sent = {"action": call.action, "value": value, "target": target, "arguments": arguments,
            "context": scrub_secrets(json_safe(call.context))}
    row = AgentActivity.objects.create(
        key=key, kind=ActivityKind.DECISION, session=session, actor=call.actor, domain=call.domain, tool=call.action,
        status=decision.outcome, request_id=answer["request_id"], payload={"request": sent, "answer": answer},
    )
    recorders.record_remote_decision(
        key_name=key.name, actor=call.actor, domain=call.domain, tool=call.action, outcome=decision.outcome,
        reason=decision.reason, policy_ids=list(decision.policy_ids), request_id=answer["request_id"],
        session=session, arguments=arguments, value=value, target=target,
    )
    return row


def _redacted(call: RemoteCall) -> tuple[Any, Any, Any]:
    """The call's arguments, value and target as they may be stored: the tool's redact fields replaced
    (the value and target too when their argument is one), every secret scrubbed."""
    tool = (ToolRegistration.objects.filter(name=call.action)
            .values_list("redact_fields", "value_argument", "target_argument").first())
    paths = parse_paths(tool[0]) if tool else []
    arguments = None if call.arguments is None else scrub_secrets(redact_arguments(call.arguments, paths))
    value = REDACTED if tool and tool[1] in paths and call.value is not None else call.value
    target = REDACTED if tool and tool[2] in paths and call.target is not None else call.target
    return arguments, value, None if target is None else scrub_secrets(target)


def record_outcome(*, key: AgentKey, actor: str, domain: str, tool: str, session: str, report: dict[str, Any]
                   ) -> AgentActivity:
    """Side effects: one AgentActivity (outcome) and one audit AGENT_REPORT record."""
    report = scrub_secrets(json_safe(report))
    row = AgentActivity.objects.create(
        key=key, kind=ActivityKind.OUTCOME, session=session, actor=actor, domain=domain, tool=tool,
        status=report["status"], request_id=report.get("request_id") or "", payload={"report": report},
    )
    recorders.record_agent_report(
        what="outcome", key_name=key.name, actor=actor, domain=domain, tool=tool, status=report["status"],
        reason=report.get("description") or "", request_id=row.request_id, session=session,
        details={"report": report},
    )
    return row


def record_memory(*, key: AgentKey, actor: str, domain: str, source: str, events: list[dict[str, Any]],
                  sessions: dict[str, str]) -> list[AgentActivity]:
    """Side effects: one AgentActivity (memory) per event and one audit AGENT_REPORT record for them all.

    `sessions` maps a decision's request id to its session; other events go to the key's daily session."""
    rows = []
    for event in events:
        event = dict(event)
        tool = str(event.get("tool") or "")
        if isinstance(event.get("arguments"), dict) and tool:
            event["arguments"] = redact_call_arguments(tool, event["arguments"])
        event = scrub_secrets(json_safe(event))
        request_id = str(event.get("request_id") or "")
        rows.append(AgentActivity(
            key=key, kind=ActivityKind.MEMORY, session=sessions.get(request_id) or daily_session(key), actor=actor,
            domain=domain, tool=tool, status=str(event.get("status") or "")[:30], request_id=request_id,
            event_id=str(event.get("event_id") or ""), payload={"source": source, "event": event},
        ))
    AgentActivity.objects.bulk_create(rows)
    recorders.record_agent_report(
        what="memory", key_name=key.name, actor=actor, domain=domain, tool="", status="ingested",
        reason=f"{len(rows)} memory event(s) from {source}", request_id="", session="",
        details={"source": source, "event_ids": [r.event_id for r in rows]},
    )
    return rows
