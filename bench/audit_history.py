"""Benchmark: the audit history at a million records, on SQLite (FTS5) or PostgreSQL (GIN).

Loads N synthetic but realistic records through the real append path (built by
`audit.recorders.build_record`, chained by `audit.chain.append` in batches), then measures:

1. appends/s: single records through `record_run_event`, one transaction each (the way the run
   lifecycle appends), from one writer process and from 4 at once, while a sealer process seals
   every 0.5 s as the sealer process does (`audit.chain.seal`, when the code has it): appends/s, the per-append
   time (median / p99), the seal lag (insert -> sealed: median / p95 / p99 / max) and the sealer's
   throughput; then the sealer alone on a backlog (records sealed/s); and the batched load itself;
   beside them the floor: one-integer-row commits from one writer (what a commit costs here);
2. searches, one page of 50 newest first, through `audit.search` (what the audit page runs):
   a common text term, a rare text term, tool + 7-day time range, a reviewer, a rare term + tool;
   median / p95 / p99 over repeated runs, after a warm-up;
3. the query plan of the rare-term search (PostgreSQL: must use the GIN index);
4. `verify_chain` over every record;
5. CSV export of every record through `audit.export.csv_lines`, in a child process, reporting its
   peak RSS (bounded memory) and time.

Run: `.venv/bin/python bench/audit_history.py --db sqlite|postgres [--rows 1000000]`. PostgreSQL
uses $BENCH_DATABASE_URL (default: the `governance` role of `dev.py` on a `governance_bench`
database; the database named there is dropped and created fresh each run). `--appends-only`
stops after the append measurements. Goals (issue 5): >= 2,000
appends/s; search p95 <= 50 ms per page of 50; verifying 1M records <= 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ADMIN_URL = "postgres://governance:governance@127.0.0.1:5432/governance"
BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://governance:governance@127.0.0.1:5432/governance_bench")

TOOLS = [
    "refund_payment",
    "lookup_order",
    "delete_customer",
    "update_address",
    "issue_coupon",
    "close_ticket",
    "send_email",
    "charge_card",
]
ACTORS = ["support-bot", "billing-bot", "ops-agent", "dashboard", "triage-bot"]
REVIEWERS = [f"reviewer{i:02d}" for i in range(20)]
DOMAINS = ["customer_transactions", "customers", "orders", "messaging"]
WORDS = [
    "customer",
    "asked",
    "again",
    "about",
    "the",
    "late",
    "parcel",
    "duplicate",
    "charge",
    "suspected",
    "please",
    "verify",
    "identity",
    "first",
    "approved",
    "per",
    "policy",
    "manager",
    "confirmed",
    "refund",
    "window",
    "closed",
    "escalate",
    "to",
    "tier",
    "two",
]
DECISIONS = (
    [("execution", "allowed", "executed")] * 60
    + [("decision", "blocked", "blocked")] * 10
    + [("decision", "requires_approval", "approval_required")] * 12
    + [("approval", "approved", "approved")] * 9
    + [("approval", "denied", "denied")] * 3
    + [("decision", "expired", "expired")]
    + [("execution", "error", "tool_error")] * 5
)


def configure(db: str) -> None:
    if db == "sqlite":
        path = ROOT / "var" / "bench-audit.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        os.environ["SQLITE_PATH"] = str(path)
        os.environ.pop("DATABASE_URL", None)
    else:
        subprocess.run(
            [
                sys.executable,
                "-c",
                f"""
import psycopg
with psycopg.connect({ADMIN_URL!r}, autocommit=True) as c:
    c.execute('DROP DATABASE IF EXISTS "{BENCH_URL.rsplit("/", 1)[1]}"')
    c.execute('CREATE DATABASE "{BENCH_URL.rsplit("/", 1)[1]}"')
""",
            ],
            check=True,
        )
        os.environ["DATABASE_URL"] = BENCH_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Production settings: with DEBUG on, Django records every query, a tenth of an append's time.
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-" + "k" * 50)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def synthetic_rows(n: int, rng: random.Random):
    """Records spread over the 90 days before now, oldest first, ~8 per run."""
    start = datetime.now(UTC) - timedelta(days=90)
    step = timedelta(days=90) / n
    run_id = uuid.uuid4()
    for i in range(n):
        if i % 8 == 0:
            run_id = uuid.UUID(int=rng.getrandbits(128))
        kind, decision, status = rng.choice(DECISIONS)
        tool = rng.choice(TOOLS)
        order = f"ord_{rng.randrange(10_000_000)}"
        details = {
            "arguments": {"order_id": order, "amount": rng.randrange(1, 50_000)},
            "output": {"status": status, "note": " ".join(rng.sample(WORDS, 4))},
        }
        reviewer = ""
        if kind == "approval":
            reviewer = rng.choice(REVIEWERS)
            details["comment"] = " ".join(rng.sample(WORDS, 6))
        yield dict(
            kind=kind,
            decision=decision,
            status=status,
            tool=tool,
            actor=rng.choice(ACTORS),
            domain=rng.choice(DOMAINS),
            reviewer=reviewer,
            run_id=run_id,
            call_id=f"call_{i}",
            reason=" ".join(rng.sample(WORDS, 5)),
            occurred_at=start + step * i,
            details=details,
        )


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def timed(fn, repeat: int) -> dict:
    fn()  # warm-up
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "median_ms": round(statistics.median(samples), 2),
        "p95_ms": round(percentile(samples, 95), 2),
        "p99_ms": round(percentile(samples, 99), 2),
        "n": repeat,
    }


def load(rows: int, batch: int) -> dict:
    from audit import chain
    from audit.recorders import build_record

    rng = random.Random(5)
    started = time.perf_counter()
    pending = []
    for row in synthetic_rows(rows, rng):
        pending.append(build_record(**row))
        if len(pending) == batch:
            chain.append(pending)
            pending = []
    chain.append(pending)
    if hasattr(chain, "seal"):
        chain.seal()
    elapsed = time.perf_counter() - started
    return {"rows": rows, "seconds": round(elapsed, 1), "appends_per_s": round(rows / elapsed)}


def single_appends(count: int) -> dict:
    from audit.recorders import record_run_event

    run_id = uuid.uuid4()
    payload = {
        "tool": "lookup_order",
        "call_id": "c",
        "status": "executed",
        "reason": "permitted",
        "arguments": {"order_id": "ord_1"},
        "output": {"ok": True},
        "decision": {"policy_ids": ["p"]},
    }
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        record_run_event(run_id, "execution_event", payload)
        samples.append(time.perf_counter() - started)
    return {
        "count": count,
        "appends_per_s": round(count / sum(samples)),
        "median_ms": round(statistics.median(samples) * 1000, 3),
        "p99_ms": round(percentile(samples, 99) * 1000, 3),
    }


def _writer_process(each: int, start, out) -> None:
    from django.db import connection

    connection.close()  # a connection of its own, not the parent's
    start.wait()
    out.put(single_appends(each))
    connection.close()


def _sealer_process(stop, out, interval: float) -> None:
    """Seal every `interval` seconds as the sealer process does; report each sealed record's lag and the time spent."""
    from django.db import connection
    from django.utils import timezone

    from audit import chain
    from audit.models import AuditChainHead, AuditRecord

    connection.close()
    lags, busy, sealed = [], 0.0, 0

    def head() -> int:
        return AuditChainHead.objects.filter(pk=1).values_list("seq", flat=True).first() or 0

    next_tick = time.monotonic()
    while True:
        next_tick += interval  # fixed ticks: the time spent below does not delay the next
        stopping = stop.wait(max(0.0, next_tick - time.monotonic()))
        before = head()
        started = time.perf_counter()
        count = chain.seal()
        busy += time.perf_counter() - started
        sealed_at = timezone.now()
        sealed += count
        if count:
            times = AuditRecord.objects.filter(seq__gt=before).values_list("occurred_at", flat=True)
            lags.extend((sealed_at - t).total_seconds() for t in times)
        if stopping:
            break
    connection.close()
    out.put({"sealed": sealed, "busy_s": busy, "lags": lags})


def concurrent_appends(writers: int, each: int) -> dict:
    """`writers` processes appending at once, one transaction per record (as parallel workers do),
    with a sealer process beside them when the code has one."""
    import multiprocessing

    from django.db import connection

    from audit import chain

    context = multiprocessing.get_context("fork")
    connection.close()
    connection.close_pool()  # Django's pool: a forked child must not inherit its open connections
    start, stop, out, sealer_out = context.Event(), context.Event(), context.Queue(), context.Queue()
    procs = [context.Process(target=_writer_process, args=(each, start, out)) for _ in range(writers)]
    sealer = None
    if hasattr(chain, "seal"):
        sealer = context.Process(target=_sealer_process, args=(stop, sealer_out, 0.5))
        sealer.start()
    for proc in procs:
        proc.start()
    started = time.perf_counter()
    start.set()
    results = [out.get() for _ in procs]
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join()
    report = {
        "writers": writers,
        "appends": writers * each,
        "appends_per_s": round(writers * each / elapsed),
        "per_writer_median_ms": [r["median_ms"] for r in results],
        "per_writer_p99_ms": [r["p99_ms"] for r in results],
    }
    if sealer is not None:
        stop.set()
        sealed = sealer_out.get()
        sealer.join()
        lags = sealed["lags"] or [0.0]
        report["seal"] = {
            "sealed": sealed["sealed"],
            "sealer_busy_s": round(sealed["busy_s"], 2),
            "lag_ms": {name: round(value * 1000) for name, value in (
                ("median", statistics.median(lags)), ("p95", percentile(lags, 95)), ("p99", percentile(lags, 99)),
                ("max", max(lags)))},
        }
    return report


def commit_floor(count: int) -> dict:
    """The floor under one writer: `count` commits of a one-integer row, nothing else (the WAL flush)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_floor (n integer)")
        started = time.perf_counter()
        for n in range(count):
            cursor.execute("INSERT INTO bench_floor (n) VALUES (%s)", [n])
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_floor")
    return {"commits": count, "commits_per_s": round(count / elapsed), "mean_ms": round(elapsed / count * 1000, 3)}


def seal_backlog(count: int) -> dict:
    """The sealer alone: `count` records appended unsealed first, then sealed in one call."""
    from audit import chain

    if not hasattr(chain, "seal"):
        return {"note": "no sealer in this code: records are chained as they are appended"}
    single_appends(count)
    started = time.perf_counter()
    sealed = chain.seal()
    elapsed = time.perf_counter() - started
    return {"sealed": sealed, "seconds": round(elapsed, 2), "sealed_per_s": round(sealed / elapsed)}


def searches(repeat: int) -> dict:
    from django.db import connection

    from audit.models import AuditRecord
    from audit.search import filtered, page

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    newest = AuditRecord.objects.order_by("-id").values_list("occurred_at", flat=True).first()
    rare = AuditRecord.objects.filter(seq=123_457 if AuditRecord.objects.filter(seq=123_457).exists() else 1)
    rare_order = json.loads(rare.values_list("details", flat=True).get())["arguments"]["order_id"]
    cases = {
        'text, common word ("refund")': {"q": "refund"},
        f"text, rare word ({rare_order})": {"q": rare_order},
        "tool + last 7 days": {"tool": "charge_card", "since": newest - timedelta(days=7)},
        "tool + a 7-day range 60 days back": {
            "tool": "charge_card",
            "since": newest - timedelta(days=67),
            "until": newest - timedelta(days=60),
        },
        "reviewer": {"reviewer": "reviewer07"},
        "text rare word + tool": {"q": rare_order, "tool": rare.values_list("tool", flat=True).get()},
    }
    results = {}
    for name, criteria in cases.items():
        found = len(page(criteria).records)
        results[name] = {**timed(lambda c=criteria: page(c).records, repeat), "rows_on_page": found}
    for word, criteria in (("rare", {"q": rare_order}), ("common", {"q": "refund"})):
        results[f"plan of the {word}-word search"] = filtered(criteria)[:51].explain()
    return results


def verify() -> dict:
    from audit.chain import verify_chain

    started = time.perf_counter()
    report = verify_chain()
    return {"records": report.checked, "intact": report.intact, "seconds": round(time.perf_counter() - started, 1)}


def export_in_child(db: str) -> dict:
    code = f"""
import os, resource, sys, time
sys.path.insert(0, {str(ROOT)!r})
import django; django.setup()
from audit.export import csv_lines
from audit.models import AuditRecord
started = time.perf_counter(); lines = 0; size = 0
for line in csv_lines(AuditRecord.objects.all()):
    lines += 1; size += len(line)
print(lines, size, round(time.perf_counter() - started, 1), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
    env = dict(os.environ)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    lines, size, seconds, rss_kb = done.stdout.split()
    return {
        "csv_lines": int(lines),
        "csv_mb": round(int(size) / 1e6, 1),
        "seconds": float(seconds),
        "peak_rss_mb": round(int(rss_kb) / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--appends", type=int, default=4000, help="appends of one writer (each of 4: half)")
    parser.add_argument("--appends-only", action="store_true")
    args = parser.parse_args()
    configure(args.db)
    report = {
        "db": args.db,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }
    report["load"] = load(args.rows, args.batch)
    print(json.dumps(report["load"]), flush=True)
    report["commit_floor"] = commit_floor(args.appends)
    print(json.dumps(report["commit_floor"]), flush=True)
    report["one_writer"] = concurrent_appends(1, args.appends)
    print(json.dumps(report["one_writer"]), flush=True)
    report["four_writers"] = concurrent_appends(4, args.appends // 2)
    print(json.dumps(report["four_writers"]), flush=True)
    report["seal_backlog"] = seal_backlog(args.appends)
    print(json.dumps(report["seal_backlog"]), flush=True)
    if args.appends_only:
        return
    report["searches"] = searches(args.repeat)
    report["verify"] = verify()
    report["export"] = export_in_child(args.db)
    report["bench_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
