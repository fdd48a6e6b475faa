"""Fixtures for the agents' API: a key with the demo tools registered, and a JSON poster for Django's client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from config.embedded import free_port
from devtools.embedded import shut_down, wait_until_serving
from tests.agents.support import client_for
from tests.factories import make_agent_key, register_demo_tools


@pytest.fixture
def agent(demo_tools_registered):
    """(key, secret): an agent key for AI_AGENT_001 in customer_transactions, the demo tools registered."""
    return make_agent_key()


@pytest.fixture
def post(client):
    """post(path, body, secret, **headers): a JSON POST to /bighub<path>; `body` may be raw bytes or text."""

    def send(path: str, body, secret: str | None, **headers):
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        if secret is not None:
            headers["HTTP_X_API_KEY"] = secret
        return client.post(f"/bighub{path}", data, content_type="application/json", **headers)

    return send


@pytest.fixture(scope="module")
def api_server(django_db_setup, tmp_path_factory):
    """The product's ASGI app under uvicorn on a free loopback port, on this test run's database (so tests
    using `transactional_db` share rows with it). Started once per module; yields its URL and log file."""
    with _serving(tmp_path_factory.mktemp("api-server")) as server:
        yield server


@pytest.fixture(scope="module")
def api_server_on_redis(django_db_setup, tmp_path_factory, redis_url):
    """`api_server` with the production channel layer on Redis (`redis_url`), so that what this test process
    publishes reaches it, and with its long-polls looking at the database only every 5 s: what wakes them
    within a second can only be the channel layer's message."""
    with _serving(tmp_path_factory.mktemp("api-server-redis"), CHANNEL_LAYER="redis", REDIS_URL=redis_url,
                  GOVERNANCE_APPROVAL_WAIT_RECHECK_MS="5000") as server:
        yield server


@pytest.fixture
def channel_layer_on(settings):
    """`channel_layer_on(redis_url)`: this test process publishes through Redis, as a web process does."""

    def on(url: str) -> None:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                               "CONFIG": {"hosts": [url]}}}

    return on


@contextmanager
def _serving(directory: Path, **extra_env: str):
    database = connection.settings_dict
    env = {**os.environ, "GOVERNANCE_VAR_DIR": str(directory), "CACHE_BACKEND": "locmem", "CHANNEL_LAYER": "memory",
           "GOVERNANCE_API_RATE_LIMIT_PER_MINUTE": "30", "DJANGO_SETTINGS_MODULE": "config.settings",
           "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "INFO", **extra_env}
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = (f"postgres://{quote(database['USER'])}:{quote(database['PASSWORD'])}@"
                               f"{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}")
    else:
        env.pop("DATABASE_URL", None)
        env["SQLITE_PATH"] = str(database["NAME"])
    port = free_port()
    log_path = directory / "server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "info"],
            cwd=Path(__file__).resolve().parents[2], env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_serving(f"{url}/bighub/openapi.json", server, timeout=60):
            pytest.fail(f"the API server did not come up:\n{log_path.read_text()[-3000:]}")
        yield {"url": url, "log": log_path, "pid": server.pid}
    finally:
        shut_down(server)


@pytest.fixture
def secret(transactional_db):
    """The secret of an agent key for AI_AGENT_001 in customer_transactions, the demo tools registered
    (committed rows, for the server in another process)."""
    register_demo_tools()
    return make_agent_key()[1]


@pytest.fixture
def sdk(api_server, secret):
    """The real bighub SDK pointed at the running server with that key."""
    client = client_for(api_server, secret)
    yield client
    client.close()
