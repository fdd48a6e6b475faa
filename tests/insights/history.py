"""A small known history for the insights tests: decisions, approval requests and their resolutions.

Two days in November 2026 (the 2nd and 3rd) and one record on the 20th, outside the range the tests ask
for. Ten calls decided in the range: three allowed (one tool then failed), one blocked, six requiring
approval. No two records share a time: the audit page's time filter bounds ids by the first record at or
after `since`, and between records of the same instant it may pick either (audit/search.py, `_time_range`).
Six approval requests (five refunds, one coupon): reviewer decisions after 60, 120, 240 s (rita) and
300, 600 s (rob), one expiry, one escalation, two denials "duplicate charge" and one "amount too high".
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from approvals.models import ApprovalRequest
from audit import chain
from audit.models import AuditRecord
from audit.recorders import build_record
from tests.factories import pending_approval

NOV_2, NOV_3 = date(2026, 11, 2), date(2026, 11, 3)
RANGE = {"since": "2026-11-02", "until": "2026-11-03"}


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def _decision(kind, decision, tool, when, *, actor="billing-bot", domain="payments", approval_id=None, call="",
              details=None):
    return dict(kind=kind, decision=decision, status=decision, tool=tool, actor=actor, domain=domain,
                approval_id=approval_id, occurred_at=when, call_id=call, reason="r", details=details or {})


def _resolution(status, approval, when, *, reviewer="", comment="", tool="refund_payment"):
    return dict(kind="approval", decision=status, status=status, tool=tool, actor="billing-bot", domain="payments",
                reviewer=reviewer, approval_id=approval.pk, occurred_at=when, reason="amount above 100",
                details={"comment": comment})


def build(user) -> dict[str, list[int]]:
    """Append and seal the history; returns the seqs of its audit records by group name."""
    a = [None] + [pending_approval(user, n) for n in range(1, 7)]  # a[1]..a[6]
    a[5].tool = "issue_coupon"
    a[5].save(update_fields=["tool"])
    requested = {1: at(NOV_2, 10), 2: at(NOV_3, 9), 3: at(NOV_3, 9, 10), 4: at(NOV_3, 9, 20), 5: at(NOV_3, 11),
                 6: at(NOV_3, 9, 50)}
    for n, when in requested.items():
        ApprovalRequest.objects.filter(pk=a[n].pk).update(requested_at=when)
    support = {"actor": "support-bot"}
    groups = {
        "nov2": [
            _decision("execution", "allowed", "lookup_order", at(NOV_2, 9), **support, domain="orders"),
            _decision("execution", "allowed", "lookup_order", at(NOV_2, 9, 30), **support, domain="orders"),
            _decision("decision", "blocked", "delete_customer", at(NOV_2, 14), **support, domain="customers"),
            _decision("decision", "requires_approval", "refund_payment", requested[1], approval_id=a[1].pk),
        ],
        "nov3_requests": [
            _decision("decision", "requires_approval", "refund_payment", requested[n], approval_id=a[n].pk)
            for n in (2, 3, 4, 6)
        ] + [_decision("decision", "requires_approval", "issue_coupon", requested[5], approval_id=a[5].pk)],
        "nov3_other": [
            dict(_decision("execution", "error", "lookup_order", at(NOV_3, 9, 45), **support, domain="orders",
                           details={"decision": {"outcome": "allowed"}}), status="tool_error"),
        ],
        "followed_a_review": [  # what the runs did once reviewed: the calls' outcomes, not decisions again
            _decision("execution", "allowed", "refund_payment", at(NOV_2, 10, 2), approval_id=a[1].pk),
            _decision("decision", "denied", "refund_payment", at(NOV_3, 10, 30), approval_id=a[2].pk),
            _decision("decision", "expired", "refund_payment", at(NOV_3, 12), approval_id=a[4].pk),
        ],
        "resolutions": [
            _resolution("approved", a[1], requested[1] + timedelta(seconds=60), reviewer="rita"),
            _resolution("denied", a[2], requested[2] + timedelta(seconds=120), reviewer="rita",
                        comment="duplicate charge"),
            _resolution("denied", a[3], requested[3] + timedelta(seconds=300), reviewer="rob",
                        comment="duplicate  charge"),
            _resolution("expired", a[4], requested[4] + timedelta(hours=1)),
            _resolution("approved", a[5], requested[5] + timedelta(seconds=600), reviewer="rob", tool="issue_coupon"),
            _resolution("denied", a[6], requested[6] + timedelta(seconds=240), reviewer="rita",
                        comment="amount too high"),
        ],
        "not_counted": [  # a quorum's vote and a run's status: no figure counts them
            dict(_resolution("approved", a[1], requested[1] + timedelta(seconds=30), reviewer="rob"), status="vote"),
            dict(kind="run_status", status="running", occurred_at=at(NOV_3, 9, 5), details={}),
        ],
        "escalation": [dict(kind="approval", status="escalated", tool="issue_coupon", actor="billing-bot",
                            domain="payments", approval_id=a[5].pk, occurred_at=requested[5] + timedelta(seconds=300),
                            reason="escalated to leads: nobody decided in time", details={"deadline": "escalated"})],
        "outside": [_decision("execution", "allowed", "lookup_order", at(date(2026, 11, 20), 9), **support)],
    }
    # Appended in time order, as the product appends them (the audit page's time filter relies on it).
    named = sorted(((name, row) for name, rows in groups.items() for row in rows),
                   key=lambda pair: pair[1]["occurred_at"])
    records = chain.append([build_record(**row) for _, row in named])
    chain.seal()
    seqs = dict(AuditRecord.objects.values_list("id", "seq"))
    found: dict[str, list[int]] = {name: [] for name in groups}
    for (name, _), record in zip(named, records, strict=True):
        found[name].append(seqs[record.id])
    return found
