"""Links from each figure to the audit records behind it, in the audit page's own filters (audit/forms.py).

Each measure of insights/rollup.py maps to filters that list exactly its records: a decision outcome is
`decision=<outcome>` (the approval records that share `denied` and `expired` are left out with
`kind=decision`: executions are only ever allowed or errors); requests are `decision=requires_approval`.
Two links can only come near: escalations are found by the word "escalated" among approval records, and
a denial reason by its words (the audit page has no status or exact-reason filter); reviewer and
resolution links also list that reviewer's votes and grants; an hour-of-day bar lists every record of
the range (the audit page filters by a time range, not by an hour of each day).
"""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

from django.urls import reverse

from .forms import day_start

_SHARED_WITH_APPROVALS = ("denied", "expired", "approved")


def audit_url(criteria: dict, *, day: date | None = None, **filters: str) -> str:
    """The audit page listing the records of `criteria`'s tool, actor, domain and range (or one `day`),
    narrowed by `filters` (decision, kind, reviewer, q)."""
    since, until = (day, day) if day else (criteria["since"], criteria["until"])
    params = {name: criteria[name] for name in ("tool", "actor", "domain") if criteria.get(name)}
    params.update({k: v for k, v in filters.items() if v})
    params["since"] = day_start(since)
    params["until"] = day_start(until + timedelta(days=1))
    return reverse("audit:index") + "?" + urlencode(params)


def decisions_url(criteria: dict, outcome: str = "", *, day: date | None = None, tool: str = "") -> str:
    """The decision records with `outcome`, optionally of one day and one tool."""
    narrowed = {**criteria, "tool": tool} if tool else criteria
    kind = "decision" if outcome in _SHARED_WITH_APPROVALS else ""
    return audit_url(narrowed, day=day, decision=outcome, kind=kind)


def resolutions_url(criteria: dict, outcome: str = "", reviewer: str = "") -> str:
    return audit_url(criteria, kind="approval", decision=outcome, reviewer=reviewer)


def escalations_url(criteria: dict) -> str:
    return audit_url(criteria, kind="approval", q="escalated")


def denial_url(criteria: dict, reason: str) -> str:
    return audit_url(criteria, kind="approval", decision="denied", q=reason)
