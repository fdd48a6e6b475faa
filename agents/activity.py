"""Recording what remote agents sent: one AgentActivity row and one event on its session's run.

Every decision, outcome report and memory ingest received through the API is written here, and
only here. The AgentActivity row is the API's own memory (which session a request id belongs to,
which memory events were stored); the run event (`runs.event_log.append_event`, types in
`runs.remote`) is the session's timeline, pushed live to its page, and the one place that writes its
audit record, so the timeline and the audit history cannot disagree and nothing is recorded twice.
Arguments are stored with the tool's redact fields replaced, as `governance.assembly.redact_call_arguments`
does (for a decision, `governance.assembly.shown_call`: also its value and target as their argument is shown);
every text is scrubbed of secrets. Callers hold the transaction (and the run, `agents.sessions`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from governance.assembly import redact_call_arguments
from governance.assembly import shown_call as shown_by_tool
from governance.decisions import Decision
from governance.jsonsafe import json_safe
from governance.redaction import scrub_secrets
from runs import remote
from runs.event_log import append_event
from runs.models import Run

from .models import ActivityKind, AgentActivity, AgentKey

if TYPE_CHECKING:
    from .evaluate import RemoteCall


def shown_call(call: RemoteCall) -> dict[str, Any]:
    """What may be stored and shown of a call: its arguments, value and target, as
    `governance.assembly.shown_call` shows them (the tool's redact fields replaced, secrets scrubbed; the
    value and target as their argument is shown)."""
    return shown_by_tool(call.action, call.arguments, value=call.value, target=call.target)


def record_decision(*, key: AgentKey, call: RemoteCall, decision: Decision, answer: dict[str, Any],
                    session: str, run: Run, approval_id: int | None = None,
                    shown: dict[str, Any] | None = None) -> AgentActivity:
    """Side effects: one AgentActivity (decision) and one `remote_decision` event on the run (with its audit
    DECISION record and live nudge). `shown` is `shown_call(call)` when the caller has it already."""
    shown = shown if shown is not None else shown_call(call)
    sent = {"action": call.action, **shown, "context": scrub_secrets(json_safe(call.context))}
    row = AgentActivity.objects.create(
        key=key, kind=ActivityKind.DECISION, session=session, actor=call.actor, domain=call.domain, tool=call.action,
        status=decision.outcome, request_id=answer["request_id"],
        payload={"request": sent, "answer": answer, "policy_version": decision.policy_version,
                 "observed_outcome": decision.observed_outcome},
    )
    append_event(run.pk, remote.DECISION, {
        "key_name": key.name, "actor": call.actor, "domain": call.domain, "tool": call.action,
        "outcome": decision.outcome, "status": decision.outcome, "reason": decision.reason,
        "policy_ids": list(decision.policy_ids), "request_id": answer["request_id"], "session": session,
        "policy_version": decision.policy_version, "observed_outcome": decision.observed_outcome,
        "approval_id": approval_id, **shown,
    })
    return row


def record_outcome(*, key: AgentKey, actor: str, domain: str, tool: str, session: str, run: Run,
                   report: dict[str, Any]) -> AgentActivity:
    """Side effects: one AgentActivity (outcome) and one `remote_outcome` event on the run (with its audit
    AGENT_REPORT record and live nudge)."""
    report = scrub_secrets(json_safe(report))
    row = AgentActivity.objects.create(
        key=key, kind=ActivityKind.OUTCOME, session=session, actor=actor, domain=domain, tool=tool,
        status=report["status"], request_id=report.get("request_id") or "", payload={"report": report},
    )
    append_event(run.pk, remote.OUTCOME, {
        "key_name": key.name, "actor": actor, "domain": domain, "tool": tool, "status": report["status"],
        "reason": report.get("description") or "", "request_id": row.request_id, "session": session,
        "details": {"report": report},
    })
    return row


def record_memory(*, key: AgentKey, actor: str, domain: str, source: str, events: list[dict[str, Any]],
                  runs: dict[str, Run], default: tuple[str, Run]) -> list[AgentActivity]:
    """Side effects: one AgentActivity (memory) per event, and one `remote_memory` event (with its audit
    AGENT_REPORT record) on each run the events belong to.

    `runs` maps a decision's request id to its session and run; other events go to `default`."""
    rows: dict[Run, list[AgentActivity]] = {}
    for event in events:
        event = dict(event)
        tool = str(event.get("tool") or "")
        if isinstance(event.get("arguments"), dict) and tool:
            event["arguments"] = redact_call_arguments(tool, event["arguments"])
        event = scrub_secrets(json_safe(event))
        request_id = str(event.get("request_id") or "")
        session, run = runs.get(request_id) or default
        rows.setdefault(run, []).append(AgentActivity(
            key=key, kind=ActivityKind.MEMORY, session=session, actor=actor, domain=domain, tool=tool,
            status=str(event.get("status") or "")[:30], request_id=request_id,
            event_id=str(event.get("event_id") or ""), payload={"source": source, "event": event},
        ))
    stored = []
    for run, run_rows in rows.items():
        stored.extend(AgentActivity.objects.bulk_create(run_rows))
        append_event(run.pk, remote.MEMORY, {
            "key_name": key.name, "actor": actor, "domain": domain, "tool": "", "status": "ingested",
            "reason": f"{len(run_rows)} memory event(s) from {source}", "request_id": "", "session": run.session,
            "details": {"source": source, "event_ids": [r.event_id for r in run_rows]},
        })
    return stored
