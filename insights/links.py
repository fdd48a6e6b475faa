"""Links from each figure to the audit records behind it, in the audit page's own filters (audit/forms.py).

Each measure of insights/rollup.py maps to the filters that come nearest to listing its records. Exact:
requests and a `requires_approval` bar (`decision=requires_approval`: one record per call), a `blocked` bar
(`decision=blocked`, but for a call refused for invalid arguments, which the audit records as an error).
Near: an `allowed` bar (`decision=allowed`) also lists the runs of calls approved by a reviewer or a grant
(counted once, as requires approval) and leaves out the tools that failed after being allowed (recorded as
`error`, counted as allowed): the audit page has no filter on a record's request or grant. Escalations are
found by the word "escalated" among approval records, and a denial reason by its words (the audit page has
no status or exact-reason filter); reviewer and resolution links also list that reviewer's votes and
grants; an hour-of-day bar lists every record of the range (the audit page filters by a time range, not by
an hour of each day).
"""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

from django.urls import reverse

from .forms import day_start


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
    return audit_url(narrowed, day=day, decision=outcome)


def resolutions_url(criteria: dict, outcome: str = "", reviewer: str = "") -> str:
    return audit_url(criteria, kind="approval", decision=outcome, reviewer=reviewer)


def escalations_url(criteria: dict) -> str:
    return audit_url(criteria, kind="approval", q="escalated")


def denial_url(criteria: dict, reason: str) -> str:
    return audit_url(criteria, kind="approval", decision="denied", q=reason)
