"""Project-wide test fixtures: no Redis needed by default (in-memory channel layer, eager Celery).

Tests that exercise the real services (the embedded stack, the browser flow) start them
themselves; everything else runs against the in-memory layer and runs tasks inline.
"""

from __future__ import annotations

import pytest

from config.celery import app as celery_app


@pytest.fixture(autouse=True)
def _in_process_services(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = eager


@pytest.fixture
def fake_bighub():
    from tests.fakes.bighub_server import running_fake_bighub

    with running_fake_bighub() as fake:
        yield fake


@pytest.fixture
def bighub_client(fake_bighub):
    import bighub

    from tests.fakes.bighub_server import API_KEY

    client = bighub.BighubClient(api_key=API_KEY, base_url=fake_bighub.base_url, max_retries=0, timeout=5)
    yield client
    client.close()


@pytest.fixture
def demo_tools_registered(db):
    """The demo tools and policies registered as an admin would, with the execution log cleared."""
    from governance import demo_tools
    from tests.factories import register_demo_tools

    register_demo_tools()
    demo_tools.EXECUTIONS.clear()


@pytest.fixture
def operator(db):
    from tests.factories import make_user

    return make_user("olivia")


@pytest.fixture
def reviewer(db):
    from tests.factories import make_user

    return make_user("rita", reviewer=True)


@pytest.fixture
def migrate():
    """`migrate(targets)` moves the test database's schema to those migrations and returns their
    historical apps; afterwards the schema is put back to the latest. Needs django_db(transaction=True)."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    def to(targets):
        executor = MigrationExecutor(connection)
        executor.migrate(targets)
        return executor.loader.project_state(targets).apps

    yield to
    to(MigrationExecutor(connection).loader.graph.leaf_nodes())
