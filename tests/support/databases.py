"""What the tests need of the database they run on."""

from __future__ import annotations

import pytest
from django.db import connection


def skip_unless_concurrent_writers() -> None:
    """Skip the calling test on SQLite: it needs two write transactions at once (row locks, commit
    order), which SQLite cannot have. It runs in the PostgreSQL phase of `dev.py test`."""
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers: SQLite has one write transaction at a time")
