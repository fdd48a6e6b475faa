"""What the insights page shows for one set of figures: each chart with the audit links behind its marks."""

from __future__ import annotations

from audit.models import AuditDecision

from . import charts, links
from .figures import Figures


def charts_for(figures: Figures) -> dict[str, charts.Chart]:
    criteria = figures.criteria
    columns = [
        (day.strftime("%d %b"), day.isoformat(),
         [(outcome, figures.per_day[day].get(outcome, 0), links.decisions_url(criteria, outcome, day=day))
          for outcome in figures.outcomes])
        for day in figures.days
    ]
    hours = [(f"{hour:02d}", f"{hour:02d}:00 to {hour:02d}:59 UTC", [("decisions", n, links.audit_url(criteria))])
             for hour, n in enumerate(figures.hours)]
    return {
        "per_day": charts.stacked_columns(
            columns, f"Decisions per day by outcome, {figures.decisions} in all: "
            + ", ".join(f"{sum(d.get(o, 0) for d in figures.per_day.values())} {o.replace('_', ' ')}"
                        for o in figures.outcomes)),
        "by_tool": charts.bars(
            [(tool, n, links.decisions_url(criteria, "requires_approval", tool=tool))
             for tool, n in figures.requests_by_tool],
            f"Approval requests by tool, {figures.requests} in all"),
        "hours": charts.stacked_columns(
            hours, "Decisions by hour of the day (UTC); busiest: "
            + (", ".join(f"{h:02d}:00" for h in figures.busiest_hours) or "none")),
        "reasons": charts.bars(
            [(reason, n, links.denial_url(criteria, "" if reason == "(no comment given)" else reason))
             for reason, n in figures.denial_reasons],
            "Top denial reasons", css="series-denied"),
    }


def legend(figures: Figures) -> list[tuple[str, str]]:
    """The outcomes shown, each with its name as the audit page writes it ("Requires approval")."""
    names = dict(AuditDecision.choices)
    return [(outcome, names.get(outcome, outcome)) for outcome in figures.outcomes]


def rate_links(figures: Figures) -> dict[str, str]:
    criteria = figures.criteria
    return {
        "requests": links.decisions_url(criteria, "requires_approval"),
        "resolved": links.resolutions_url(criteria),
        "expired": links.resolutions_url(criteria, "expired"),
        "escalated": links.escalations_url(criteria),
        "denied": links.resolutions_url(criteria, "denied"),
    }
