"""The figures of the insights page, computed from the rollups (insights/models.py) for one set of filters.

`compute(criteria)` answers in four or five queries whatever the history's size: the day counts
(decisions by day and outcome, requests by tool, resolutions, escalations), the 24 hourly sums, the
reviewers' figures and times, and the top denial reasons. Medians and the 90th percentile interpolate
between the two nearest times: PostgreSQL's `percentile_cont` in the database (a month of a million
records holds ~36,000 reviewer decisions: fetching them to Python took 42 ms, the two aggregates take
~15 ms), and `percentile` here, the same formula, on SQLite, which has no such aggregate.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import connection
from django.db.models import Aggregate, Count, FloatField, Q, Sum

from audit.export import csv_cell

from . import links
from .models import HOURS, DayCount, Measure, Resolution

OUTCOMES = ("allowed", "requires_approval", "blocked", "error")  # the policies' decisions (insights/rollup.py)
TOP_REASONS = 5
NO_REASON = "(no comment given)"


@dataclass
class Reviewer:
    name: str
    decided: int = 0
    approved: int = 0
    denied: int = 0
    median_seconds: float | None = None
    url: str = ""


@dataclass
class Figures:
    criteria: dict
    days: list[date]
    per_day: dict[date, dict[str, int]]  # day -> outcome -> decisions
    outcomes: list[str]  # the outcomes that occur, in OUTCOMES order first
    decisions: int
    requests_by_tool: list[tuple[str, int]]  # most requests first
    requests: int
    resolved: dict[str, int]  # approved / denied / expired -> count
    escalated: int
    median_seconds: float | None
    p90_seconds: float | None
    timed: int  # reviewer decisions whose time is known
    hours: list[int]  # decisions in each hour of the day, 0..23 UTC
    denial_reasons: list[tuple[str, int]]
    reviewers: list[Reviewer] = field(default_factory=list)

    @property
    def day_table(self) -> list[tuple[date, list[int]]]:
        """Each day with its decisions per outcome, in `outcomes` order (the chart's table)."""
        return [(day, [self.per_day[day].get(o, 0) for o in self.outcomes]) for day in self.days]

    @property
    def resolved_total(self) -> int:
        return sum(self.resolved.values())

    @property
    def expiry_rate(self) -> float | None:
        """Expired requests out of the requests resolved in the range."""
        return self.resolved.get("expired", 0) / self.resolved_total if self.resolved_total else None

    @property
    def escalation_rate(self) -> float | None:
        """Escalations out of the requests raised in the range."""
        return self.escalated / self.requests if self.requests else None

    @property
    def busiest_hours(self) -> list[int]:
        """The hours (UTC) with the most decisions, busiest first, up to three, none when there were none."""
        ranked = sorted((h for h in range(24) if self.hours[h]), key=lambda h: (-self.hours[h], h))
        return ranked[:3]


def compute(criteria: dict) -> Figures:
    """The figures for `criteria` (tool, actor, domain: exact or empty; since, until: UTC days, included)."""
    counts = _filtered(DayCount.objects.all(), criteria)
    per_day: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_tool: dict[str, int] = defaultdict(int)
    resolved: dict[str, int] = defaultdict(int)
    escalated = 0
    rows = (counts.values("day", "tool", "measure", "outcome").annotate(n=Sum("count")).order_by()
            .values_list("day", "tool", "measure", "outcome", "n"))
    for day, tool, measure, outcome, n in rows:
        if measure == Measure.DECISION:
            per_day[day][outcome] += n
            if outcome == "requires_approval":
                by_tool[tool] += n
        elif measure == Measure.RESOLUTION:
            resolved[outcome] += n
        elif measure == Measure.ESCALATION:
            escalated += n
    sums = counts.filter(measure=Measure.DECISION).aggregate(**{h: Sum(h) for h in HOURS})
    hours = [sums[h] or 0 for h in HOURS]

    resolutions = _filtered(Resolution.objects.all(), criteria)
    if connection.vendor == "postgresql":
        reviewers, (median, p90, timed) = _reviewers_in_database(resolutions, criteria)
    else:
        reviewers, times = _reviewers(resolutions, criteria)
        median, p90, timed = percentile(times, 50), percentile(times, 90), len(times)
    reasons = list(resolutions.filter(outcome="denied").values("reason").annotate(n=Count("id"))
                   .order_by("-n", "reason").values_list("reason", "n")[:TOP_REASONS])

    seen = {outcome for day in per_day.values() for outcome in day}
    days = [criteria["since"] + timedelta(days=i) for i in range((criteria["until"] - criteria["since"]).days + 1)]
    return Figures(
        criteria=criteria, days=days, per_day={d: dict(per_day.get(d, {})) for d in days},
        outcomes=[o for o in OUTCOMES if o in seen] + sorted(seen - set(OUTCOMES)),
        decisions=sum(sum(d.values()) for d in per_day.values()),
        requests_by_tool=sorted(by_tool.items(), key=lambda item: (-item[1], item[0])),
        requests=sum(by_tool.values()), resolved=dict(resolved), escalated=escalated,
        median_seconds=median, p90_seconds=p90, timed=timed,
        hours=hours, denial_reasons=[(reason or NO_REASON, n) for reason, n in reasons], reviewers=reviewers,
    )


def _filtered(queryset, criteria: dict):
    exact = {name: criteria[name] for name in ("tool", "actor", "domain") if criteria.get(name)}
    return queryset.filter(day__gte=criteria["since"], day__lte=criteria["until"], **exact)


def _reviewers(resolutions, criteria: dict) -> tuple[list[Reviewer], list[float]]:
    """Per reviewer: decided, approved, denied, median time; and every reviewer decision's time, sorted.

    A reviewer decision is a resolution with a reviewer (expiry has none)."""
    found: dict[str, Reviewer] = {}
    seconds: dict[str, list[float]] = defaultdict(list)
    for name, outcome, spent in resolutions.exclude(reviewer="").values_list("reviewer", "outcome", "seconds"):
        reviewer = found.get(name) or found.setdefault(name, Reviewer(name))
        reviewer.decided += 1
        if outcome == "approved":
            reviewer.approved += 1
        elif outcome == "denied":
            reviewer.denied += 1
        if spent is not None:
            seconds[name].append(spent)
    for name, reviewer in found.items():
        reviewer.median_seconds = percentile(sorted(seconds[name]), 50)
        reviewer.url = links.resolutions_url(criteria, reviewer=name)
    everyone = sorted(s for values in seconds.values() for s in values)
    return sorted(found.values(), key=lambda r: (-r.decided, r.name)), everyone


class Percentile(Aggregate):
    """PostgreSQL's continuous percentile of an expression: `Percentile("seconds", 0.9)`."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def _reviewers_in_database(resolutions, criteria: dict) -> tuple[list[Reviewer], tuple]:
    """`_reviewers`, aggregated by PostgreSQL: per reviewer, then the median and p90 of every decision."""
    decided = resolutions.exclude(reviewer="")
    rows = decided.values("reviewer").annotate(
        decided=Count("id"), approved=Count("id", filter=Q(outcome="approved")),
        denied=Count("id", filter=Q(outcome="denied")), median=Percentile("seconds", 0.5),
    ).order_by("-decided", "reviewer")
    reviewers = [Reviewer(row["reviewer"], row["decided"], row["approved"], row["denied"], row["median"],
                          links.resolutions_url(criteria, reviewer=row["reviewer"])) for row in rows]
    overall = decided.aggregate(median=Percentile("seconds", 0.5), p90=Percentile("seconds", 0.9),
                                timed=Count("seconds"))
    return reviewers, (overall["median"], overall["p90"], overall["timed"])


def percentile(ordered: list[float], q: float) -> float | None:
    """The q-th percentile of sorted values, interpolated as PostgreSQL's percentile_cont; None when empty."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def csv_rows(figures: Figures) -> list[list]:
    """The same figures as rows of (section, key, sub-key, value): one CSV for every chart.

    Every cell is written as the audit export writes it (`csv_cell`): a tool name, reviewer or denial comment
    starting with = + - @ gets a leading ' so that a spreadsheet shows it rather than running it."""
    rows: list[list] = [["section", "key", "detail", "value"]]
    for day in figures.days:
        for outcome in figures.outcomes:
            rows.append(["decisions_per_day", day.isoformat(), outcome, figures.per_day[day].get(outcome, 0)])
    rows += [["requests_by_tool", tool, "", n] for tool, n in figures.requests_by_tool]
    rows += [
        ["time_to_decision_seconds", "median", "", _number(figures.median_seconds)],
        ["time_to_decision_seconds", "p90", "", _number(figures.p90_seconds)],
        ["rates", "requests", "", figures.requests],
        ["rates", "resolved", "", figures.resolved_total],
        ["rates", "expired", "", figures.resolved.get("expired", 0)],
        ["rates", "expiry_rate", "", _number(figures.expiry_rate, 4)],
        ["rates", "escalated", "", figures.escalated],
        ["rates", "escalation_rate", "", _number(figures.escalation_rate, 4)],
    ]
    rows += [["denial_reasons", reason, "", n] for reason, n in figures.denial_reasons]
    rows += [["decisions_by_hour_utc", f"{hour:02d}", "", n] for hour, n in enumerate(figures.hours)]
    for reviewer in figures.reviewers:
        rows += [["reviewer", reviewer.name, "decided", reviewer.decided],
                 ["reviewer", reviewer.name, "approved", reviewer.approved],
                 ["reviewer", reviewer.name, "denied", reviewer.denied],
                 ["reviewer", reviewer.name, "median_seconds", _number(reviewer.median_seconds)]]
    return [[csv_cell(value) for value in row] for row in rows]


def _number(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"
