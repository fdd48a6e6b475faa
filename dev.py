#!/usr/bin/env python3
"""The two entry points a newcomer needs: `python3 dev.py start` and `python3 dev.py test`.

Needs only Python 3.11+ and git. Creates `.venv/` at the repository root, installs the project
with its dev extra (again only when pyproject.toml changed), then either starts the product or
runs every check CI runs. Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".installed-pyproject-sha256"


def _say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def _run(*args: str | os.PathLike[str], env: dict[str, str] | None = None) -> None:
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True, env=env)


def ensure_venv() -> None:
    """Create .venv and install the project into it, unless it is already up to date."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs under whatever python3 the user has
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}.")
    if not VENV_PYTHON.exists():
        _say(f"creating {VENV.relative_to(ROOT)}/")
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    _say("installing the project and its dev tools into .venv (first run takes a minute)")
    _run(VENV_PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(VENV_PYTHON, "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    STAMP.write_text(wanted)


def start() -> None:
    """Start the dashboard with everything it needs (embedded Redis, daphne, Celery, SQLite)."""
    ensure_venv()
    _run(VENV_PYTHON, "-m", "config.embedded")


def ensure_chromium() -> None:
    """The browser tests drive Debian's chromium; install it when we can (root with apt-get)."""
    if Path("/usr/bin/chromium").exists():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        _say("installing Debian's chromium for the browser tests")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        _run("apt-get", "update", "-qq", env=env)
        _run("apt-get", "install", "-y", "-qq", "chromium", env=env)
    else:
        _say("chromium is missing: install it (e.g. `sudo apt-get install chromium`); the browser tests need it")


POSTGRES_URL = "postgres://governance:governance@127.0.0.1:5432/governance"


def _psql(sql: str) -> str:
    """Run one statement as the postgres superuser (SQL on stdin, so the shell never sees it)."""
    done = subprocess.run(["su", "postgres", "-c", "psql -qtA -v ON_ERROR_STOP=1"], input=sql, text=True,
                          capture_output=True, check=True)
    return done.stdout.strip()


def ensure_postgres() -> str | None:
    """A PostgreSQL URL for the tests that need the real database: $TEST_DATABASE_URL, or Debian's
    postgresql installed and started here (root with apt-get). None when neither is possible."""
    if os.environ.get("TEST_DATABASE_URL"):
        return os.environ["TEST_DATABASE_URL"]
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not list(Path("/usr/lib/postgresql").glob("*/bin/postgres")):
        _say("installing Debian's postgresql for the PostgreSQL test phase")
        _run("apt-get", "update", "-qq", env=env)
        _run("apt-get", "install", "-y", "-qq", "postgresql", env=env)
    clusters = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True).stdout
    for line in clusters.splitlines():
        version, cluster, _port, status = line.split()[:4]
        if status != "online":
            _run("pg_ctlcluster", version, cluster, "start")
    _psql("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'governance') THEN "
          "CREATE ROLE governance LOGIN CREATEDB PASSWORD 'governance'; END IF; END $$;")
    if not _psql("SELECT 1 FROM pg_database WHERE datname = 'governance'"):
        _psql("CREATE DATABASE governance OWNER governance")
    return POSTGRES_URL


def test(pytest_args: list[str]) -> None:
    """Run every check CI runs: lint, migrations in sync, the policy examples, the whole suite on SQLite and
    on PostgreSQL."""
    ensure_venv()
    ensure_chromium()
    _say("ruff check")
    _run(VENV_PYTHON, "-m", "ruff", "check", ".")
    _say("lint-imports: the layer order between apps (pyproject.toml, [tool.importlinter])")
    _run(VENV / "bin" / "lint-imports")
    _say("migrations are in sync with the models")
    _run(VENV_PYTHON, "manage.py", "makemigrations", "--check", "--dry-run")
    _say("policy examples: the active policy set decides each as it must (manage.py check_policies)")
    _run(VENV_PYTHON, "manage.py", "check_policies")
    if pytest_args:
        _say("pytest " + " ".join(pytest_args))
        _run(VENV_PYTHON, "-m", "pytest", *pytest_args)
        return
    # The browser tests run as their own phase: after the rest of the suite in one process they
    # have missed live updates (an open problem, see "Known problems" in the README); alone they pass.
    _say("pytest: browser tests (headless Chromium against the embedded stack)")
    _run(VENV_PYTHON, "-m", "pytest", "-m", "browser")
    _say("pytest: everything else, on SQLite (the embedded profile)")
    _run(VENV_PYTHON, "-m", "pytest", "-m", "not browser and not production")
    postgres = ensure_postgres()
    if postgres is None:
        _say("NOT RUN: the PostgreSQL phase needs TEST_DATABASE_URL, or root with apt-get to install postgresql")
        sys.exit(3)
    _say("pytest: everything else on PostgreSQL, and the production topology as real processes")
    _run(VENV_PYTHON, "-m", "pytest", "-m", "not browser", env={**os.environ, "DATABASE_URL": postgres})


def main(argv: list[str]) -> None:
    commands = {"start": lambda: start(), "test": lambda: test(argv[1:])}
    if not argv or argv[0] not in commands:
        sys.exit("usage: python3 dev.py start | python3 dev.py test [pytest args]")
    try:
        commands[argv[0]]()
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode)
    except KeyboardInterrupt:
        _say("stopped")


if __name__ == "__main__":
    main(sys.argv[1:])
