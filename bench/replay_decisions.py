"""Benchmark: replaying 100,000 recorded decisions with the active policy set and with a stricter draft.

Inserts N `DecisionInput` rows (bulk_create) into a scratch database: 30 days of calls of eight tools by
five actors in four domains, values spread like payments (most small, a long tail), targets among 50,000
orders and accounts, arguments as the tools take them, 3 % recorded redacted. Each row's outcome is what
the active set decides (so a replay of it changes nothing), as the gate would have recorded it. The policy
set is a snapshot (a dict, as `governance.versions.snapshot()` gives): thresholds on three tools, Cedar
policies reading the actor, the target, the value and the arguments, domain defaults.

Then `governance.replay.replay` runs R times with the active set and R times with a stricter draft (a
lower approval threshold on refunds and a forbid on charges to some accounts), printing median and p95
of the wall time, and what each changed. `--profile` adds a cProfile of one draft replay (what dominates).

Run: `.venv/bin/python bench/replay_decisions.py --db sqlite|postgres [--rows 100000] [--repeat 5]`.
PostgreSQL uses $BENCH_DATABASE_URL (default: the `governance` role on a `governance_replay_bench`
database, dropped and created fresh each run). Goal (issue 14): 100,000 decisions in <= 10 s.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import random
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
BENCH_URL = os.environ.get("BENCH_DATABASE_URL",
                           "postgres://governance:governance@127.0.0.1:5432/governance_replay_bench")

ACTORS = ["support-bot", "billing-bot", "ops-agent", "dashboard", "triage-bot"]
DOMAINS = ["customer_transactions", "customers", "orders", "messaging"]
# tool -> (weight, domain, value argument, target argument)
TOOLS = {
    "lookup_order": (30, "orders", None, "order_id"),
    "refund_payment": (18, "customer_transactions", "amount", "order_id"),
    "charge_card": (10, "customer_transactions", "amount", "account_id"),
    "issue_coupon": (10, "customer_transactions", "amount", "customer_id"),
    "update_address": (10, "customers", None, "customer_id"),
    "send_email": (12, "messaging", None, "to"),
    "close_ticket": (8, "orders", None, "ticket_id"),
    "delete_customer": (2, "customers", None, "customer_id"),
}
POLICIES = {
    "lookups": 'permit(principal, action == Action::"lookup_order", resource);',
    "tickets": ('permit(principal, action == Action::"close_ticket", resource)\n'
                '  when { principal != Agent::"triage-bot" };'),
    "addresses": """
permit(principal, action == Action::"update_address", resource);
forbid(principal == Agent::"triage-bot", action == Action::"update_address", resource);
""",
    "deletes": """
@approval("required")
permit(principal == Agent::"ops-agent", action == Action::"delete_customer", resource);
forbid(principal, action == Action::"delete_customer", resource) unless { principal == Agent::"ops-agent" };
""",
    "emails": """
permit(principal, action == Action::"send_email", resource);
@reason("mail to a competitor's domain")
forbid(principal, action == Action::"send_email", resource)
  when { context has arguments && context.arguments has to && context.arguments.to like "*@rival.example" };
""",
}
STRICTER_FORBID = ('forbid(principal, action == Action::"charge_card", resource)\n'
                   '  when { context has target && context.target like "acct_9*" };')


def configure(db: str) -> None:
    if db == "sqlite":
        path = ROOT / "var" / "bench-replay.sqlite3"
        path.parent.mkdir(exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        os.environ["SQLITE_PATH"] = str(path)
        os.environ.pop("DATABASE_URL", None)
    else:
        name = BENCH_URL.rsplit("/", 1)[1]
        subprocess.run([sys.executable, "-c", f"""
import psycopg
with psycopg.connect({ADMIN_URL!r}, autocommit=True) as c:
    c.execute('DROP DATABASE IF EXISTS "{name}"')
    c.execute('CREATE DATABASE "{name}"')
"""], check=True)
        os.environ["DATABASE_URL"] = BENCH_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DEBUG"] = "false"  # with DEBUG on, Django keeps every query
    os.environ.setdefault("SECRET_KEY", "bench-" + "k" * 50)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def active_set() -> dict:
    """The policy set as `versions.snapshot()` would give it."""
    thresholds = {"refund_payment": ("100", "10000"), "charge_card": ("500", "5000"), "issue_coupon": (None, "200")}
    tools = {}
    for name, (_weight, domain, value_argument, target_argument) in TOOLS.items():
        approve, block = thresholds.get(name, (None, None))
        tools[name] = {"callable_path": f"governance.demo_tools.{name}", "enabled": True, "domain": domain,
                       "actor": "", "decision_mode": "submit", "value_argument": value_argument or "",
                       "target_argument": target_argument or "", "approve_above": approve, "block_above": block,
                       "redact_fields": ""}
    return {
        "policies": {name: {"cedar": cedar, "enabled": True, "mode": "active"} for name, cedar in POLICIES.items()},
        "tools": tools,
        "domain_defaults": {domain: {"outcome": "blocked", "observe_only": False} for domain in DOMAINS},
    }


def stricter(policy_set: dict) -> dict:
    draft = json.loads(json.dumps(policy_set))
    draft["tools"]["refund_payment"]["approve_above"] = "50"
    draft["policies"]["no-charges-to-acct-9"] = {"cedar": STRICTER_FORBID, "enabled": True, "mode": "active"}
    return draft


def synthetic_calls(n: int, rng: random.Random):
    """(occurred_at, tool, actor, domain, value, target, arguments, redacted), oldest first, over 29 days."""
    names = list(TOOLS)
    weights = [TOOLS[t][0] for t in names]
    start = datetime.now(UTC) - timedelta(days=29)
    step = timedelta(days=29) / n
    for i in range(n):
        tool = rng.choices(names, weights)[0]
        _w, domain, value_argument, target_argument = TOOLS[tool]
        prefix = {"order_id": "ord", "account_id": "acct", "customer_id": "cus", "ticket_id": "tkt"}.get(
            target_argument, "")
        target = (f"user{rng.randrange(50_000)}@{rng.choice(['example.com', 'mail.example', 'rival.example'])}"
                  if target_argument == "to" else f"{prefix}_{rng.randrange(50_000)}")
        arguments: dict = {target_argument: target}
        value = None
        if value_argument:
            value = round(min(rng.lognormvariate(4, 1.5), 50_000), 2)  # median ~55, a long tail
            arguments[value_argument] = value
        if tool == "send_email":
            arguments["subject"] = rng.choice(["Your order", "Refund issued", "Ticket closed"])
        redacted = rng.random() < 0.03
        if redacted:
            arguments[target_argument] = "[redacted]"
            target = None
        yield start + i * step, tool, rng.choice(ACTORS), domain, value, target, arguments, redacted


def load(n: int, policy_set: dict) -> dict:
    from governance import policy_examples
    from governance.decisions import ActionRequest
    from governance.models import DecisionInput

    engine = policy_examples.engine_for(policy_set)
    rng = random.Random(14)
    run_ids = [uuid.uuid4() for _ in range(n // 8 + 1)]
    began = time.perf_counter()
    batch = []
    for i, (at, tool, actor, domain, value, target, arguments, redacted) in enumerate(synthetic_calls(n, rng)):
        outcome = policy_examples.evaluate(engine, ActionRequest(
            tool=tool, action=tool, arguments=arguments, actor=actor, domain=domain, value=value, target=target,
        )).outcome
        batch.append(DecisionInput(
            occurred_at=at, tool=tool, actor=actor, domain=domain, value=value, target=target, arguments=arguments,
            redacted=redacted, outcome=outcome, policy_version=7, run_id=run_ids[i // 8], call_id=f"call_{i}",
            request_id=str(uuid.uuid4()), source="api" if i % 3 else "dashboard"))
        if len(batch) == 5000:
            DecisionInput.objects.bulk_create(batch)
            batch = []
    DecisionInput.objects.bulk_create(batch)
    return {"rows": DecisionInput.objects.count(), "load_s": round(time.perf_counter() - began, 1)}


def timed(policy_set: dict, repeat: int) -> dict:
    from governance.replay import replay

    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = replay(policy_set)
        times.append(time.perf_counter() - began)
    ordered = sorted(times)
    return {"median_s": round(statistics.median(times), 2),
            "p95_s": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 2),
            "runs_s": [round(t, 2) for t in times], "total": result.total, "changed": result.changed,
            "redacted": result.redacted, "transitions": result.transitions}


def profile(policy_set: dict) -> str:
    from governance.replay import replay

    profiler = cProfile.Profile()
    profiler.enable()
    replay(policy_set)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    configure(args.db)
    policy_set = active_set()
    report = {"db": args.db, "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                                        f"Python {platform.python_version()}",
              "date": datetime.now(UTC).strftime("%Y-%m-%d"), "load": load(args.rows, policy_set)}
    print(json.dumps(report["load"]), flush=True)
    report["load_average_before"] = round(os.getloadavg()[0], 2)
    report["active"] = timed(policy_set, args.repeat)
    print("active", json.dumps(report["active"]), flush=True)
    report["stricter"] = timed(stricter(policy_set), args.repeat)
    print("stricter", json.dumps(report["stricter"]), flush=True)
    report["load_average_after"] = round(os.getloadavg()[0], 2)
    if args.profile:
        print(profile(stricter(policy_set)))
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
