"""Project-wide test fixtures: no Redis needed by default (in-memory channel layer and cache, eager Celery).

Tests that exercise the real services (the embedded stack, the browser flow) start them
themselves; everything else runs against the in-memory layer and runs tasks inline. The fixtures
that tests in more than one folder use live here too: users, the demo tools registered (through
tests/support/demo_tools.py, which records each call), a pending approval, a reviewer's page under a
query-count guard.
"""

from __future__ import annotations

import subprocess

import pytest

from config.celery import app as celery_app
from config.embedded import free_port, wait_for_port
from devtools.production import redis_binary


@pytest.fixture(autouse=True)
def _in_process_services(settings):
    from django.core.cache import cache

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()  # rate-limit counters and the like start from nothing in every test
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = eager


@pytest.fixture
def fake_bighub():
    from tests.support.bighub_server import running_fake_bighub

    with running_fake_bighub() as fake:
        yield fake


@pytest.fixture
def bighub_client(fake_bighub):
    import bighub

    from tests.support.bighub_server import API_KEY

    client = bighub.BighubClient(api_key=API_KEY, base_url=fake_bighub.base_url, max_retries=0, timeout=5)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _recorded_demo_tools_allowed(settings):
    """The tests register the demo tools through tests.support.demo_tools, which records each call."""
    settings.GOVERNANCE_TOOL_MODULE_PREFIXES = [*settings.GOVERNANCE_TOOL_MODULE_PREFIXES, "tests.support.demo_tools"]


@pytest.fixture
def demo_tools_registered(db):
    """The demo tools and policies registered as an admin would, with the execution log cleared."""
    from tests.factories import register_demo_tools
    from tests.support import demo_tools

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
def paused(operator):
    """A pending refund approval on a run the operator started."""
    from approvals.models import ApprovalRequest
    from tests.factories import paused_run

    return ApprovalRequest.objects.get(run=paused_run(operator))


@pytest.fixture
def reviewer_page(client, reviewer, django_assert_num_queries):
    """`reviewer_page(url, queries=n)`: the page's HTML as a reviewer gets it, which must take exactly n
    queries (a query-count guard)."""
    client.force_login(reviewer)

    def get(url: str, *, queries: int) -> str:
        with django_assert_num_queries(queries):
            response = client.get(url)
        assert response.status_code == 200
        return response.content.decode()

    return get


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


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A Redis server of its own on a free loopback port (the binary the embedded profile uses)."""
    port = free_port()
    server = subprocess.Popen([redis_binary(), "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path_factory.mktemp("redis"))],
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port(port, 15, "redis", server)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def traces():
    """The spans this process makes while the test runs, kept in the SDK's in-memory exporter
    (`traces.get_finished_spans()`); tracing is off again afterwards."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from governance import telemetry

    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry.use_tracer_provider(provider)
    yield exporter
    telemetry.use_tracer_provider(None)
    provider.shutdown()


@pytest.fixture
def otel_environment(monkeypatch):
    """No OTEL_* variable set (the test sets its own with the monkeypatch it is given); afterwards the
    variables and tracing are as they were, whatever `telemetry.configure_from_environment` installed."""
    import os

    from governance import telemetry

    for name in [name for name in os.environ if name.startswith("OTEL_")]:
        monkeypatch.delenv(name)
    yield monkeypatch
    for name in [name for name in os.environ if name.startswith("OTEL_")]:
        del os.environ[name]
    provider = telemetry.installed_provider()
    telemetry.use_tracer_provider(None)
    if provider is not None:
        provider.shutdown()
