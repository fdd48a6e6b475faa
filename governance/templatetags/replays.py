"""`{% replay_panel job %}`: a replay's panel (progress, cancel, result, findings), the same on its own page
(governance/views.py), in the HTMX poll that refreshes it, and on the admin forms it was started from."""

from __future__ import annotations

from datetime import datetime

from django import template

from governance import permissions, replay_jobs
from governance.models import DomainDefault, ReplayJob

register = template.Library()

OUTCOME_WORDS = {value: label.lower() for value, label in DomainDefault.Outcome.choices}


@register.inclusion_tag("governance/_replay_panel.html", takes_context=True)
def replay_panel(context, job: ReplayJob, *, standalone: bool = False) -> dict:
    result = replay_jobs.result_of(job)
    request = context.get("request")
    shown = {"job": job, "result": result, "standalone": standalone, "csrf_token": context.get("csrf_token"),
             "may_cancel": request is not None and permissions.may_cancel_replay(request.user, job),
             "stale": replay_jobs.is_stale(job)}
    if result is None:
        return shown
    return {
        **shown,
        "transitions": [(OUTCOME_WORDS.get(a, a), OUTCOME_WORDS.get(b, b), n) for a, b, n in result.transitions],
        "groups": [{**g, "from": OUTCOME_WORDS.get(g["from"], g["from"]), "to": OUTCOME_WORDS.get(g["to"], g["to"])}
                   for g in result.groups],
        "examples": [{**e, "from": OUTCOME_WORDS.get(e["from"], e["from"]), "to": OUTCOME_WORDS.get(e["to"], e["to"]),
                      "occurred_at": datetime.fromisoformat(e["occurred_at"])} for e in result.examples],
    }
