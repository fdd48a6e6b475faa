"""What remote agents report after a decision: outcomes (`POST /outcomes/report`) and memory events
(`POST /actions/memory/ingest`). Both are stored and audited through `agents.activity`.

An outcome naming a decision of this actor joins that decision's session (and its run's timeline);
one naming no known decision joins the key's session of the day; one naming another actor's
decision is refused (403): a key reports only on its own actor's calls. Memory events are stored
once per `event_id` and actor (the adapter's deduplication key), so a retried ingest stores nothing twice.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from . import activity, sessions
from .keys import bound_scope
from .models import ActivityKind, AgentActivity, AgentKey


def report_outcome(*, key: AgentKey, report: dict[str, Any]) -> dict[str, Any]:
    """Store an outcome report (the body of `outcomes.report`) and answer as BIGHUB does.

    Side effects: see `activity.record_outcome` (the daily session's run opened if it is new). Raises
    OutOfScope (403) for another actor's decision.
    """
    request_id = report.get("request_id")
    decision = None
    if request_id:
        decision = (AgentActivity.objects.filter(kind=ActivityKind.DECISION, request_id=request_id)
                    .values("actor", "domain", "tool", "session", "key_id").first())
    if decision is not None:
        bound_scope(key, actor=decision["actor"], domain=decision["domain"])
        actor, domain, tool, session = decision["actor"], decision["domain"], decision["tool"], decision["session"]
        session_key = decision["key_id"]
    else:
        actor, domain = key.actor, key.domains[0] if len(key.domains) == 1 else ""
        tool, session, session_key = report.get("production_action") or "", sessions.daily_session(key), key.pk
    with transaction.atomic():
        run = sessions.session_run(key if session_key == key.pk else AgentKey.objects.get(pk=session_key), session)
        row = activity.record_outcome(key=key, actor=actor, domain=domain, tool=tool, session=session, run=run,
                                      report=report)
    return {"outcome_id": f"out_{row.pk}", "request_id": request_id, "status": report["status"],
            "reported_by": report.get("reported_by") or "", "reported_at": row.created_at.isoformat(),
            "details": row.payload["report"].get("details") or {}}


def ingest_memory(*, key: AgentKey, source: str, events: list[dict[str, Any]], actor: str | None = None,
                  domain: str | None = None) -> dict[str, Any]:
    """Store the events not stored before and answer as BIGHUB does (`MemoryIngestResponse`).

    Side effects: see `activity.record_memory` (nothing when every event was stored before). Raises
    OutOfScope (403) when the body or an event names another actor or domain.
    """
    actor, domain = _memory_scope(key, actor, domain)
    for event in events:
        _memory_scope(key, event.get("actor"), event.get("domain"))
    fresh, seen = [], set()
    for event in events:  # an event_id sent twice in one batch counts once
        event_id = event.get("event_id") or ""
        if not event_id or event_id not in seen:
            seen.add(event_id)
            fresh.append(event)
    for attempt in range(2):
        try:
            with transaction.atomic():
                stored = set(AgentActivity.objects.filter(actor=actor, kind=ActivityKind.MEMORY,
                                                          event_id__in=seen - {""}).values_list("event_id", flat=True))
                new = [e for e in fresh if (e.get("event_id") or "") not in stored]
                if new:
                    activity.record_memory(key=key, actor=actor, domain=domain, source=source, events=new,
                                           **_runs(key, actor, new))
                total = AgentActivity.objects.filter(actor=actor, kind=ActivityKind.MEMORY).count()
            break
        except IntegrityError:  # another request stored one of these events meanwhile: look again
            if attempt:
                raise
    return {"accepted": len(new), "total_stored": total, "source": source}


def _memory_scope(key: AgentKey, actor: str | None, domain: str | None) -> tuple[str, str]:
    """Memory names its domain optionally: when it does, it must be the key's; when not, the key's only
    domain, or none when the key has several."""
    if domain is not None:
        return bound_scope(key, actor=actor, domain=domain)
    actor = bound_scope(key, actor=actor, domain=key.domains[0])[0]
    return actor, key.domains[0] if len(key.domains) == 1 else ""


def _runs(key: AgentKey, actor: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    """`record_memory`'s `runs` and `default`: the session and run of each decision (of this actor) the
    events name, and the key's session of the day for the others (opened only if some event needs it)."""
    request_ids = {str(e["request_id"]) for e in events if e.get("request_id")}
    decided = (AgentActivity.objects.filter(kind=ActivityKind.DECISION, actor=actor, request_id__in=request_ids)
               .values_list("request_id", "key_id", "session"))
    keys = {key.pk: key}
    runs = {}
    for request_id, key_id, session in decided:
        if key_id not in keys:  # another key of this actor made the decision
            keys[key_id] = AgentKey.objects.get(pk=key_id)
        runs[request_id] = (session, sessions.session_run(keys[key_id], session))
    default = None
    if any(str(e.get("request_id") or "") not in runs for e in events):
        daily = sessions.daily_session(key)
        default = (daily, sessions.session_run(key, daily))
    return {"runs": runs, "default": default}
