"""Fixtures for the tests that run the production topology as real processes (marker `production`).

They need a PostgreSQL server: `dev.py test` runs them in its PostgreSQL phase, with DATABASE_URL
set; each stack creates (and drops) its own database on that server.
"""

from __future__ import annotations

import os

import pytest

from devtools.production import ProductionStack


def admin_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.fail("the production tests need DATABASE_URL pointing at a PostgreSQL server whose role may create "
                    "databases (python3 dev.py test runs them in its PostgreSQL phase)")
    return url


@pytest.fixture
def make_stack(tmp_path):
    """Start a stack (workers, asgi, layer, env are parameters); every stack started is stopped after."""
    stacks: list[ProductionStack] = []

    def make(workers: int = 2, beat: bool = True, **options) -> ProductionStack:
        stack = ProductionStack(tmp_path / f"stack{len(stacks)}", admin_database_url=admin_database_url(), **options)
        stack.dir.mkdir()
        stacks.append(stack)
        return stack.start(workers=workers, beat=beat)

    yield make
    for stack in stacks:
        stack.stop()
