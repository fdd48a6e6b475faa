"""Fixtures for the agents' API: a key with the demo tools registered, and a JSON poster for Django's client."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def agent(demo_tools_registered):
    """(key, secret): an agent key for AI_AGENT_001 in customer_transactions, the demo tools registered."""
    from tests.factories import make_agent_key

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
