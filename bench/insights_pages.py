"""Benchmark: the insights page (/insights/) and its CSV at a million audit records on PostgreSQL.

Builds the history with bench/audit_history.py's generator and load (records spread over 90 days), with
its approval records given real approval requests (requested 30 s to 2 h before their resolution, so
times to decision are real) and, of those approval records, one in ten turned into an escalation and one
in twenty into an expiry (the generator has neither). Then:

1. the first fold of the whole history into the rollups (`catch_up_insights`): seconds, records/s;
2. each page through Django's full request path (test client, a reviewer logged in, templates rendered):
   unfiltered (the default 30 days), filtered by tool, and the CSV: median / p95 over repeated requests;
3. the same unfiltered page with 1,000 records sealed since the last fold (what a page folds itself);
4. for comparison, the figures' core aggregate run on the audit table itself (decisions per day by
   outcome for 30 days): what a page would cost without the rollups.

Run: `.venv/bin/python bench/insights_pages.py [--rows 1000000]`. Uses $BENCH_DATABASE_URL (default
a `gov_insights_bench` database, dropped and created fresh). Goal (issue 14): each page <= 200 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://governance:governance@127.0.0.1:5432/gov_insights_bench")

import audit_history  # noqa: E402 -- after BENCH_DATABASE_URL: it reads the URL when imported

APPROVALS: list[tuple[int, datetime, str]] = []  # (approval id, resolved at, status) of the approval records


def with_approvals(n: int, rng: random.Random):
    """audit_history's rows, each approval record tied to an approval request id; some escalations, expiries."""
    for row in _generator(n, rng):
        if row["kind"] == "approval":
            approval_id = len(APPROVALS) + 1
            row["approval_id"] = approval_id
            draw = rng.random()
            if draw < 0.1:
                row.update(decision="", status="escalated", reviewer="")
            elif draw < 0.15:
                row.update(decision="expired", status="expired", reviewer="")
            APPROVALS.append((approval_id, row["occurred_at"], row["status"]))
        yield row


_generator = audit_history.synthetic_rows


def create_approval_requests() -> None:
    """One run holding every approval request, each requested 30 s to 2 h before its audit record and
    resolved as it says (an escalated one as approved by its escalation group: none is left pending, which
    would make the nav's pending count, not this page, the cost measured)."""
    from django.db import connection

    from approvals.models import ApprovalRequest
    from runs.models import Run

    run = Run.objects.create(prompt="bench", model="bench")
    rng = random.Random(14)
    batch = []
    for approval_id, resolved_at, status in APPROVALS:
        batch.append(ApprovalRequest(pk=approval_id, run=run, call_id=f"a{approval_id}", tool="refund_payment",
                                     arguments={}, arguments_digest="0" * 64, decision={},
                                     status="approved" if status == "escalated" else status, resolved_at=resolved_at,
                                     comment=str(rng.uniform(30, 7200))))
        if len(batch) == 5000:
            ApprovalRequest.objects.bulk_create(batch)
            batch = []
    ApprovalRequest.objects.bulk_create(batch)
    with connection.cursor() as cursor:  # requested_at is auto_now_add: set it from the drawn wait (in comment)
        cursor.execute("UPDATE approvals_approvalrequest SET requested_at = resolved_at - (comment || ' seconds')"
                       "::interval, comment = ''")


def reuse() -> None:
    """Connect to the bench database as it is, and empty the rollups (the fold is measured again)."""
    os.environ["DATABASE_URL"] = audit_history.BENCH_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-" + "k" * 50)
    import django

    django.setup()
    from insights.models import DayCount, Resolution, Watermark

    DayCount.objects.all().delete()
    Resolution.objects.all().delete()
    Watermark.objects.update(seq=0)


def fold() -> dict:
    from insights import rollup

    started = time.perf_counter()
    read = rollup.catch_up(most=None, wait=True)
    seconds = time.perf_counter() - started
    return {"records": read, "seconds": round(seconds, 1), "records_per_s": round(read / seconds)}


def pages(repeat: int) -> dict:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client

    from audit.models import AuditRecord
    from tests.factories import make_user

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(User.objects.filter(username="bench-reviewer").first() or make_user("bench-reviewer",
                                                                                          reviewer=True))
    newest = AuditRecord.objects.order_by("-id").values_list("occurred_at", flat=True).first().date()
    until = {"until": newest.isoformat()}  # the generator's history ends now: the default range
    cases = {"unfiltered, last 30 days": ("/insights/", {}),
             "tool=charge_card, last 30 days": ("/insights/", {"tool": "charge_card"}),
             "CSV, last 30 days": ("/insights/insights.csv", {}),
             "tool + actor + domain, 90 days": ("/insights/", {"tool": "charge_card", "actor": "ops-agent",
                                                               "domain": "orders", "since": (newest - timedelta(
                                                                   days=89)).isoformat(), **until})}

    def get(url, params):
        response = client.get(url, params)
        if response.status_code != 200:
            raise SystemExit(f"{url} {params}: HTTP {response.status_code}")

    return {name: audit_history.timed(lambda u=url, p=params: get(u, p), repeat)
            for name, (url, params) in cases.items()}


def page_after_new_records(repeat: int) -> dict:
    """The unfiltered page when 1,000 records were sealed since the last fold (the page folds them itself)."""
    from django.contrib.auth.models import User
    from django.test import Client

    from audit import chain
    from audit.recorders import build_record

    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(User.objects.get(username="bench-reviewer"))
    rng = random.Random(7)
    samples = []
    for _ in range(repeat):
        now = datetime.now(UTC)
        chain.append([build_record(kind="decision", decision=rng.choice(["allowed", "blocked"]), status="x",
                                   tool=rng.choice(audit_history.TOOLS), occurred_at=now, details={})
                      for _ in range(1000)])
        chain.seal()
        started = time.perf_counter()
        if client.get("/insights/").status_code != 200:
            raise SystemExit("page after new records failed")
        samples.append((time.perf_counter() - started) * 1000)
    return {"median_ms": round(sorted(samples)[len(samples) // 2], 2),
            "p95_ms": round(audit_history.percentile(samples, 95), 2), "n": repeat}


def raw_aggregate(repeat: int) -> dict:
    """Decisions per day by outcome for 30 days, counted on the audit table itself (no rollup)."""
    from django.db.models import Count
    from django.db.models.functions import TruncDate

    from audit.models import AuditRecord

    since = datetime.now(UTC) - timedelta(days=30)

    def run():
        return list(AuditRecord.objects.filter(occurred_at__gte=since, kind__in=["decision", "execution"])
                    .exclude(decision="").annotate(day=TruncDate("occurred_at")).values("day", "decision")
                    .annotate(n=Count("id")).order_by())

    return audit_history.timed(run, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--reuse", action="store_true", help="keep the database a previous run loaded; fold "
                        "its history again from nothing")
    args = parser.parse_args()
    report = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
              "date": datetime.now(UTC).strftime("%Y-%m-%d")}
    if args.reuse:
        reuse()
    else:
        audit_history.configure("postgres")
        audit_history.synthetic_rows = with_approvals
        report["load"] = audit_history.load(args.rows, 5000)
        create_approval_requests()
        report["approval_requests"] = len(APPROVALS)
    print(json.dumps(report), flush=True)
    report["first_fold"] = fold()
    print(json.dumps(report["first_fold"]), flush=True)
    report["pages"] = pages(args.repeat)
    print(json.dumps(report["pages"], indent=2), flush=True)
    report["page_after_1000_new_records"] = page_after_new_records(10)
    report["without_rollups_per_day_by_outcome_30_days"] = raw_aggregate(5)
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
