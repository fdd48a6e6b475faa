"""The insights figures on a small known history (tests/insights/history.py), and how filters narrow them."""

from __future__ import annotations

from datetime import date

import pytest

from audit import chain
from audit.recorders import build_record
from insights import figures, rollup
from insights.figures import percentile

from .history import NOV_2, NOV_3, at, build

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(operator):
    return build(operator)


def _figures(**filters):
    rollup.catch_up(most=None)
    criteria = {"tool": "", "actor": "", "domain": "", "since": NOV_2, "until": NOV_3, **filters}
    return figures.compute(criteria)


def test_decisions_per_day_by_outcome(history):
    found = _figures()
    assert found.per_day == {  # the approved refund's run, the denial and the expiry are not decisions again
        NOV_2: {"allowed": 2, "requires_approval": 1, "blocked": 1},
        NOV_3: {"requires_approval": 5, "allowed": 1},  # the lookup that failed was allowed
    }
    assert found.outcomes == ["allowed", "requires_approval", "blocked"]
    assert found.decisions == 10


def test_a_call_settled_by_a_grant_counts_once(history):
    before = _figures().per_day[NOV_3]
    granted = {"grant_id": 7, "decision": {"outcome": "requires_approval"}}
    chain.append([build_record(kind=kind, decision=decision, status=status, tool="issue_coupon", details=granted,
                               occurred_at=at(NOV_3, 16, minute)) for kind, decision, status, minute in (
        ("decision", "requires_approval", "approval_required", 0), ("execution", "allowed", "executed", 1),
        ("execution", "error", "tool_error", 2))])
    chain.seal()
    assert _figures().per_day[NOV_3] == {**before, "requires_approval": before["requires_approval"] + 1}


def test_requests_by_tool_and_the_rates(history):
    found = _figures()
    assert found.requests_by_tool == [("refund_payment", 5), ("issue_coupon", 1)]
    assert found.resolved == {"approved": 2, "denied": 3, "expired": 1}  # the vote is not a resolution
    assert (found.expiry_rate, found.escalated, found.escalation_rate) == (1 / 6, 1, 1 / 6)


def test_time_to_decision_median_and_p90(history):
    found = _figures()  # reviewer decisions after 60, 120, 240, 300, 600 s; the expiry has no reviewer
    assert (found.median_seconds, found.p90_seconds, found.timed) == (240, 480, 5)


def test_top_denial_reasons_count_the_same_words_once(history):
    assert _figures().denial_reasons == [("duplicate charge", 2), ("amount too high", 1)]


def test_busiest_hours(history):
    found = _figures()
    assert found.hours[9] == 7 and found.hours[10] == 1 and found.hours[12] == 0  # not the denial, the expiry
    assert found.busiest_hours == [9, 10, 11]


def test_per_reviewer(history):
    rows = [(r.name, r.decided, r.approved, r.denied, r.median_seconds) for r in _figures().reviewers]
    assert rows == [("rita", 3, 1, 2, 120), ("rob", 2, 1, 1, 450)]


def test_tool_filter_narrows_every_figure(history):
    found = _figures(tool="refund_payment")
    assert found.per_day == {NOV_2: {"requires_approval": 1}, NOV_3: {"requires_approval": 4}}
    assert found.requests_by_tool == [("refund_payment", 5)]
    assert (found.escalated, found.resolved) == (0, {"approved": 1, "denied": 3, "expired": 1})
    assert [(r.name, r.decided) for r in found.reviewers] == [("rita", 3), ("rob", 1)]


def test_actor_domain_and_range_filters_narrow(history):
    assert _figures(actor="support-bot").per_day == {NOV_2: {"allowed": 2, "blocked": 1}, NOV_3: {"allowed": 1}}
    assert _figures(domain="customers").decisions == 1
    only_nov_3 = _figures(since=NOV_3)
    assert list(only_nov_3.per_day) == [NOV_3] and only_nov_3.decisions == 6
    assert [(r.name, r.decided) for r in only_nov_3.reviewers] == [("rita", 2), ("rob", 2)]
    assert _figures(since=date(2026, 11, 20), until=date(2026, 11, 20)).per_day == {date(2026, 11, 20): {"allowed": 1}}


def test_records_sealed_later_are_folded_once(history):
    first = _figures().decisions
    assert rollup.catch_up(most=None) == 0  # nothing new: nothing read twice
    chain.append([build_record(kind="decision", decision="blocked", status="blocked", tool="delete_customer",
                               occurred_at=at(NOV_3, 15), details={})])
    assert _figures().decisions == first  # not sealed yet: not counted
    chain.seal()
    found = _figures()
    assert found.decisions == first + 1 and found.per_day[NOV_3]["blocked"] == 1 and found.hours[15] == 1


@pytest.mark.parametrize(("values", "q", "expected"), [
    ([], 50, None), ([7.0], 90, 7.0), ([1.0, 2.0, 3.0, 4.0], 50, 2.5), ([10.0, 20.0], 90, 19.0),
])
def test_percentile_interpolates_like_postgresql(values, q, expected):
    assert percentile(values, q) == expected
