"""Benchmark: live dashboard latency on the embedded stack, with 50 concurrent runs.

Starts `python -m config.embedded` (real Redis, daphne, a Celery worker with 2 processes, SQLite)
on a free loopback port, then:

1. starts N runs that each pause for approval ("Refund order ord_<i> for 250") and connects one
   websocket client per run page (logged in with the operator's session cookie, as a browser);
2. approves the N requests at once (N reviewer HTTP POSTs from a thread pool);
3. reads the database afterwards.

Figures:
- commit -> frame: for every RunEvent committed after its page's socket said hello, the frame's
  arrival time minus the row's `created_at` (stamped just before the INSERT, so this slightly
  over-states the delay). Events committed before the hello reach the page in its catch-up answer:
  their age then is how long the run existed before the page opened, not a delivery time, so they
  are counted apart ("caught up"), and every event is checked to have reached its page ("missing");
- approval click -> tool start: `ToolExecution.started_at` (the claim row written just before the
  tool runs) minus the moment the approve POST was sent.
Same machine, same clock. Bounded: N runs, fixed timeouts, loopback only.

Run: `.venv/bin/python bench/live_latency.py [--runs 50]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # devtools is not installed with the project: import it from the checkout

from config.embedded import free_port  # noqa: E402
from devtools.embedded import launch, shut_down, wait_until_serving  # noqa: E402

SEQ = re.compile(r'<li id="event-(\d+)"')


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def report(name: str, samples_s: list[float]) -> None:
    ms = [s * 1000 for s in samples_s]
    print(f"{name:<34} n={len(ms):>5}  median {statistics.median(ms):7.1f} ms  p95 {pct(ms, 95):7.1f} ms  "
          f"p99 {pct(ms, 99):7.1f} ms  max {max(ms):7.1f} ms")


def login(base: str, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=True, timeout=30)
    page = client.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    client.post("/accounts/login/", data={"username": username, "password": password,
                                          "csrfmiddlewaretoken": token})
    return client


def csrf(client: httpx.Client, path: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(path).text).group(1)


async def watch(base_ws: str, cookie: str, run_id: str, seen: dict, hellos: dict, stop: asyncio.Event) -> None:
    headers = {"Cookie": cookie, "Origin": base_ws.replace("ws://", "http://")}
    async with websockets.connect(f"{base_ws}/ws/runs/{run_id}/", additional_headers=headers) as ws:
        hellos[run_id] = time.time()
        await ws.send('{"type": "hello", "after": 0}')
        while not stop.is_set():
            try:
                frame = await asyncio.wait_for(ws.recv(), timeout=0.5)
            except TimeoutError:
                continue
            now = time.time()
            for seq in SEQ.findall(frame):
                seen.setdefault((run_id, int(seq)), now)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    port, var_dir = free_port(), Path(tempfile.mkdtemp(prefix="bench-live-"))
    stack = launch(port=port, var_dir=var_dir, log=open(var_dir / "stack.log", "w"))  # noqa: SIM115
    base, base_ws = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
    try:
        if not wait_until_serving(f"{base}/accounts/login/", stack):
            raise SystemExit(f"the embedded stack did not start; see {var_dir / 'stack.log'}")
        operator, reviewer = login(base, "operator", "operator-demo"), login(base, "reviewer", "reviewer-demo")
        cookie = "; ".join(f"{k}={v}" for k, v in operator.cookies.items())
        token = csrf(operator, "/runs/new/")
        run_ids = []
        for i in range(args.runs):
            response = operator.post("/runs/new/", data={"prompt": f"Refund order ord_{i} for 250", "model": "gpt-4.1",
                                                         "tools": ["refund_payment"], "csrfmiddlewaretoken": token})
            run_ids.append(str(response.url).rstrip("/").rsplit("/", 1)[-1])
        seen: dict = {}
        hellos: dict = {}

        async def scenario() -> dict[str, float]:
            stop = asyncio.Event()
            watchers = [asyncio.create_task(watch(base_ws, cookie, r, seen, hellos, stop)) for r in run_ids]
            db = sqlite3.connect(var_dir / "db.sqlite3")
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                pending = db.execute("select count(*) from approvals_approvalrequest where status='pending'").fetchone()
                if pending[0] == len(run_ids):
                    break
                await asyncio.sleep(0.2)
            approvals = [row[0] for row in db.execute("select id from approvals_approvalrequest")]
            tokens = {a: csrf(reviewer, f"/approvals/{a}/") for a in approvals}
            clicks: dict[str, float] = {}

            def approve(approval_id: int) -> None:
                run_id = db_run_of(approval_id)
                clicks[run_id] = time.time()
                reviewer.post(f"/approvals/{approval_id}/", data={"resolution": "approved",
                                                                  "csrfmiddlewaretoken": tokens[approval_id]})

            def db_run_of(approval_id: int) -> str:
                with sqlite3.connect(var_dir / "db.sqlite3") as c:
                    return c.execute("select run_id from approvals_approvalrequest where id=?",
                                     (approval_id,)).fetchone()[0]

            with ThreadPoolExecutor(max_workers=10) as pool:
                await asyncio.get_running_loop().run_in_executor(None, lambda: list(pool.map(approve, approvals)))
            while time.monotonic() < deadline:
                done = db.execute("select count(*) from runs_run where status='completed'").fetchone()[0]
                if done == len(run_ids):
                    break
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)
            stop.set()
            await asyncio.gather(*watchers, return_exceptions=True)
            return clicks

        clicks = asyncio.run(scenario())
        db = sqlite3.connect(var_dir / "db.sqlite3")
        created = {(r.replace("-", ""), seq): datetime.fromisoformat(ts).timestamp()
                   for r, seq, ts in db.execute("select run_id, seq, created_at from runs_runevent")}
        hello_at = {r.replace("-", ""): t for r, t in hellos.items()}
        arrived = {(r.replace("-", ""), s): at for (r, s), at in seen.items()}
        after_hello = {key for key, at in created.items() if at > hello_at.get(key[0], float("inf"))}
        commit_to_frame = [arrived[key] - created[key] for key in after_hello if key in arrived]
        committed_live = len(after_hello)
        missing = len(set(created) - set(arrived))
        starts = {r: datetime.fromisoformat(ts).timestamp()
                  for r, ts in db.execute("select run_id, started_at from runs_toolexecution")}
        click_to_tool = [starts[r.replace("-", "")] - t for r, t in clicks.items() if r.replace("-", "") in starts]
        completed = db.execute("select count(*) from runs_run where status='completed'").fetchone()[0]
        print(f"machine: {platform.machine()} python {platform.python_version()}, {os.cpu_count()} cores; "
              f"{time.strftime('%Y-%m-%d')}; {args.runs} runs, {args.runs} websocket clients; "
              f"{completed}/{args.runs} completed; {len(seen)} of {len(created)} events seen by clients, "
              f"{missing} missing; {committed_live} committed after their page's hello, "
              f"{len(created) - committed_live} before it (caught up)")
        report("commit -> websocket frame (live)", commit_to_frame)
        report("approval click -> tool start", click_to_tool)
    finally:
        shut_down(stack)


if __name__ == "__main__":
    main()
