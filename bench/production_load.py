"""Benchmark: load on the production topology (and the embedded profile), bounded, loopback only.

For each configuration it starts the stack as real processes (devtools/production.py:
PostgreSQL, Redis, an ASGI server, 2 Celery worker processes, beat; or `config.embedded`), then:

1. logs in an operator and a reviewer over HTTP, as browsers would;
2. starts --runs runs by posting the start form from 8 threads at once; each asks the demo model to look up
   --calls-per-run orders (one governed tool call each, all in one model turn); the first
   --approvals runs also ask for a refund of 250, which pauses for approval;
3. connects a websocket client to each of the first --sockets run pages right after starting it
   (hello after 0, as the page does);
4. a reviewer thread approves each request as soon as it appears (HTTP POST, as the button does);
5. waits until every run is final (bounded by --timeout).

Figures: runs/s and governed tool calls/s (decided calls / the span from the first claim to the
last finish), event delivery (frame arrival - RunEvent.created_at, for every event a socket
showed), approval click -> tool start (ToolExecution.started_at - the POST), the resident memory
of every Celery pool process at the start, once a tenth of the runs are final and at the end
(`--runs 1000 --sockets 0` for the memory figure), the age of the oldest audit record not yet
sealed into the hash chain (sampled every 0.25 s, the most seen), the CPU seconds each process used,
and errors (HTTP errors, failed runs,
runs not final in time, socket errors, events a socket missed or was sent twice, a tool call
without exactly one finished execution): all should be zero.

Run: `.venv/bin/python bench/production_load.py [--configs daphne/core,uvicorn/core,...]`. The
production configurations need DATABASE_URL (a PostgreSQL whose role may create databases).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.embedded import free_port  # noqa: E402
from devtools.embedded import launch, shut_down, wait_until_serving  # noqa: E402
from devtools.production import ProductionStack  # noqa: E402

EVENT_SEQ = re.compile(r'<li id="event-(\d+)"')


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def summary(samples_s: list[float]) -> dict:
    ms = [s * 1000 for s in samples_s]
    if not ms:
        return {"n": 0}
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 1), "p95_ms": round(pct(ms, 95), 1),
            "p99_ms": round(pct(ms, 99), 1), "max_ms": round(max(ms), 1)}


class EmbeddedStack:
    """`config.embedded` (SQLite, one Celery worker with 2 processes) behind the same few methods."""

    def __init__(self, directory: Path) -> None:
        self.dir, self.port = directory, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self) -> EmbeddedStack:
        database_url = os.environ.pop("DATABASE_URL", None)  # the embedded profile is SQLite
        try:
            self.proc = launch(port=self.port, var_dir=self.dir, log=open(self.dir / "stack.log", "w"))  # noqa: SIM115
        finally:
            if database_url is not None:
                os.environ["DATABASE_URL"] = database_url
        if not wait_until_serving(f"{self.url}/accounts/login/", self.proc):
            raise SystemExit(f"the embedded stack did not start; see {self.dir / 'stack.log'}")
        return self

    def stop(self) -> None:
        shut_down(self.proc)

    login = ProductionStack.login
    csrf = staticmethod(ProductionStack.csrf)

    def sql(self, statement: str, params=()) -> list[tuple]:
        statement = statement.replace("%s", "?")
        with sqlite3.connect(self.dir / "db.sqlite3", timeout=30) as connection:
            return connection.execute(statement, params).fetchall()


STATUS_OF_PAYLOAD = {"postgres": "payload->>'status'", "sqlite": "json_extract(payload, '$.status')"}
EPOCH = {"postgres": "extract(epoch from {col})", "sqlite": "((julianday({col}) - 2440587.5) * 86400.0)"}


def worker_rss_mb(stack) -> list[float]:
    """Resident memory (MB) of each process that runs tasks: Celery's pool children (or a worker with
    no children), under the stack's process groups."""
    roots = [psutil.Process(p.pid) for _name, p in stack_processes(stack) if p.poll() is None]
    found = []
    for root in roots:
        for proc in [root, *root.children(recursive=True)]:
            try:
                cmdline = " ".join(proc.cmdline())
                if "celery" in cmdline and " worker" in cmdline and not proc.children():
                    found.append(round(proc.memory_info().rss / 2**20, 1))
            except psutil.NoSuchProcess:
                continue
    return sorted(found)


def cpu_seconds(stack) -> dict[str, float]:
    """CPU time (user + system, s) used so far by each of the stack's processes with its children, by
    PostgreSQL (its processes alive and ended: the machine runs nothing else) and by this load generator."""
    used: dict[str, float] = {}
    for name, popen in stack_processes(stack):
        try:
            root = psutil.Process(popen.pid)
            for proc in [root, *root.children(recursive=True)]:
                times = proc.cpu_times()
                used[name] = used.get(name, 0.0) + times.user + times.system
        except psutil.NoSuchProcess:
            continue
    used["postgresql"] = 0.0
    for proc in psutil.process_iter(["username"]):
        if proc.info["username"] != "postgres":
            continue
        times = proc.cpu_times()
        used["postgresql"] += times.user + times.system
        parent = proc.parent()
        if parent is None or parent.username() != "postgres":  # the postmaster: its ended backends count too
            used["postgresql"] += times.children_user + times.children_system
    used["load generator"] = sum(psutil.Process().cpu_times()[:2])
    return used


def stack_processes(stack) -> list[tuple[str, object]]:
    """(name, Popen) of each process the stack started: the production harness's, or the embedded one."""
    return list(stack.processes.items()) if hasattr(stack, "processes") else [("embedded", stack.proc)]


def run_config(name: str, args) -> dict:
    directory = Path(tempfile.mkdtemp(prefix=f"bench-load-{name.replace('/', '-')}-"))
    if name == "embedded":
        stack, dialect = EmbeddedStack(directory).start(), "sqlite"
    else:
        asgi, layer = name.split("/")
        stack = ProductionStack(directory, admin_database_url=os.environ["DATABASE_URL"], asgi=asgi,
                                channel_layer=layer).start(workers=args.workers)
        dialect = "postgres"
    try:
        return measure(stack, dialect, args)
    finally:
        stack.stop()


def measure(stack, dialect: str, args) -> dict:
    operator, reviewer = stack.login("operator", "operator-demo"), stack.login("reviewer", "reviewer-demo")
    cookie = "; ".join(f"{k}={v}" for k, v in operator.cookies.items())
    token = stack.csrf(operator, "/runs/new/")
    errors: list[str] = []
    frames: dict[tuple[str, int], float] = {}
    sent_twice: list[tuple[str, int]] = []
    watched: list[str] = []
    rss_start = worker_rss_mb(stack)
    cpu_start = cpu_seconds(stack)
    rss_warmed: list[float] = []
    unsealed_ages: list[float] = []
    epoch = EPOCH[dialect]
    clicks: dict[int, float] = {}
    stop = threading.Event()

    def approver() -> None:
        seen: set[int] = set()
        while not stop.is_set():
            for (approval_id,) in stack.sql("SELECT id FROM approvals_approvalrequest WHERE status = 'pending'"):
                if approval_id in seen:
                    continue
                seen.add(approval_id)
                page_token = stack.csrf(reviewer, f"/approvals/{approval_id}/")
                clicks[approval_id] = time.time()
                response = reviewer.post(f"/approvals/{approval_id}/", data={
                    "resolution": "approved", "csrfmiddlewaretoken": page_token})
                if response.status_code != 200:
                    errors.append(f"approve {approval_id}: HTTP {response.status_code}")
            time.sleep(0.05)

    async def watch(run_id: str, done: asyncio.Event) -> None:
        headers = {"Cookie": cookie, "Origin": stack.url}
        ws_url = stack.url.replace("http://", "ws://") + f"/ws/runs/{run_id}/"
        try:
            async with websockets.connect(ws_url, additional_headers=headers, max_size=2**22) as ws:
                await ws.send('{"type": "hello", "after": 0}')
                while not done.is_set():
                    try:
                        frame = await asyncio.wait_for(ws.recv(), timeout=0.5)
                    except TimeoutError:
                        continue
                    now = time.time()
                    for seq in EVENT_SEQ.findall(frame):
                        if (run_id, int(seq)) in frames:
                            sent_twice.append((run_id, int(seq)))
                        frames.setdefault((run_id, int(seq)), now)
        except Exception as exc:
            errors.append(f"socket {run_id[:8]}: {exc!r}")

    async def scenario() -> tuple[list[str], float]:
        done = asyncio.Event()
        watchers, run_ids = [], []
        loop = asyncio.get_running_loop()
        started = time.time()
        def post(i: int):
            orders = " and ".join(f"ord_{i}_{k}" for k in range(args.calls_per_run))
            prompt = f"Look up {orders}"
            if i < args.approvals:
                prompt = f"Refund order ord_r{i} for 250 and look up {orders}"
            return operator.post("/runs/new/", data={"prompt": prompt, "model": "gpt-4.1",
                                                     "tools": ["lookup_order", "refund_payment"],
                                                     "csrfmiddlewaretoken": token})

        # Runs arrive from 8 browsers at once; each of the first --sockets gets its page's socket
        # as soon as its start is answered.
        with ThreadPoolExecutor(8) as pool:
            futures = [loop.run_in_executor(pool, post, i) for i in range(args.runs)]
            for i, future in enumerate(futures):
                response = await future
                if response.status_code != 200 or "/runs/" not in str(response.url):
                    errors.append(f"start run {i}: HTTP {response.status_code}")
                    continue
                run_id = str(response.url).rstrip("/").rsplit("/", 1)[-1]
                run_ids.append(run_id)
                if len(watchers) < args.sockets:
                    watched.append(run_id)
                    watchers.append(asyncio.create_task(watch(run_id, done)))
        deadline = started + args.timeout
        while time.time() < deadline:
            final = stack.sql("SELECT count(*) FROM runs_run WHERE status IN ('completed', 'failed', 'cancelled')")
            if final[0][0] >= len(run_ids):
                break
            oldest = stack.sql(f"SELECT min({epoch.format(col='occurred_at')}) FROM audit_auditrecord "
                               "WHERE seq IS NULL")[0][0]
            if oldest is not None:  # the audit sealer's lag: how old the oldest unsealed record is now
                unsealed_ages.append(time.time() - float(oldest))
            if not rss_warmed and final[0][0] >= max(1, len(run_ids) // 10):
                rss_warmed.extend(worker_rss_mb(stack))  # after the first tenth: modules loaded, caches filled
            await asyncio.sleep(0.25)
        await asyncio.sleep(1.0)  # the last frames
        done.set()
        await asyncio.gather(*watchers)
        return run_ids, started

    thread = threading.Thread(target=approver, daemon=True)
    thread.start()
    run_ids, started = asyncio.run(scenario())
    stop.set()
    thread.join(5)
    statuses = dict(stack.sql("SELECT status, count(*) FROM runs_run GROUP BY status"))
    not_final = len(run_ids) - sum(statuses.get(s, 0) for s in ("completed", "failed", "cancelled"))
    if statuses.get("failed"):
        errors.append(f"{statuses['failed']} runs failed")
    if not_final:
        errors.append(f"{not_final} runs not final within {args.timeout} s")
    span = stack.sql(f"SELECT min({epoch.format(col='started_at')}), max({epoch.format(col='finished_at')}) "
                     "FROM runs_run")[0]
    decided = stack.sql("SELECT count(*) FROM runs_runevent WHERE type = 'execution_event'")[0][0]
    created = {(str(r).replace("-", ""), s): float(t) for r, s, t in stack.sql(
        f"SELECT run_id, seq, {epoch.format(col='created_at')} FROM runs_runevent")}
    delivery = [at - created[(run.replace("-", ""), seq)] for (run, seq), at in frames.items()
                if (run.replace("-", ""), seq) in created]
    starts = dict(stack.sql(f"SELECT a.id, {epoch.format(col='e.started_at')} FROM approvals_approvalrequest a "
                            "JOIN runs_toolexecution e ON e.run_id = a.run_id AND e.call_id = a.call_id"))
    approval_to_start = [float(starts[a]) - clicked for a, clicked in clicks.items() if a in starts]
    window = float(span[1]) - float(span[0]) if span[0] and span[1] else float("nan")
    cpu_end = cpu_seconds(stack)
    cpu_used = {name: round(cpu_end[name] - cpu_start.get(name, 0.0), 1) for name in cpu_end}
    missed = [key for key in created if key[0] in {r.replace("-", "") for r in watched}
              and (key[0], key[1]) not in {(r.replace("-", ""), s) for r, s in frames}]
    if missed:
        errors.append(f"{len(missed)} events never reached the socket of their run page")
    if sent_twice:
        errors.append(f"{len(sent_twice)} events sent twice to one socket")
    executed = stack.sql("SELECT count(*) FROM runs_runevent WHERE type = 'execution_event' "
                         f"AND {STATUS_OF_PAYLOAD[dialect]} = 'executed'")[0][0]
    finished = stack.sql("SELECT count(*) FROM runs_toolexecution WHERE status = 'succeeded'")[0][0]
    if executed != finished:
        errors.append(f"{executed} calls executed on the timeline but {finished} finished tool executions")
    return {
        "runs": len(run_ids), "statuses": statuses, "wall_s": round(time.time() - started, 1),
        "processing_window_s": round(window, 1), "runs_per_s": round(len(run_ids) / window, 1),
        "governed_calls": decided, "governed_calls_per_s": round(decided / window, 1),
        "event_delivery": summary(delivery), "approval_to_tool_start": summary(approval_to_start),
        "events_on_sockets": len(frames), "worker_rss_mb": {"start": rss_start, "after_first_tenth": rss_warmed,
                                                               "end": worker_rss_mb(stack)},
        "tools_executed": finished, "cpu_s_by_process": cpu_used,
        "oldest_unsealed_audit_record_s": round(max(unsealed_ages), 2) if unsealed_ages else 0.0,
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default="daphne/core,uvicorn/core,daphne/pubsub,uvicorn/pubsub,embedded")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--calls-per-run", type=int, default=10)
    parser.add_argument("--approvals", type=int, default=20)
    parser.add_argument("--sockets", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    print(json.dumps({"machine": f"{platform.machine()}, {os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d"),
                      **{k: v for k, v in vars(args).items() if k != "configs"}}), flush=True)
    for name in args.configs.split(","):
        result = run_config(name, args)
        print(json.dumps({"config": name, **result}), flush=True)


if __name__ == "__main__":
    main()
