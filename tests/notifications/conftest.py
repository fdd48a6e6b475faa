"""Fixtures of the notification tests: a real HTTP receiver on loopback, an endpoint pointing at it, and
the verification function exactly as docs/notifications.md prints it."""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SECRET = "whsec-test-0123456789abcdef"
DOC = Path(__file__).resolve().parents[2] / "docs" / "notifications.md"


@dataclass
class Received:
    path: str
    headers: Message  # as http.server parsed them: .get() ignores the names' case
    body: bytes


@dataclass
class Receiver:
    """A webhook receiver: answers each POST with the next of `statuses` (then 200), recording it."""

    url: str
    statuses: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)


@pytest.fixture
def receiver():
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(Received(self.path, self.headers, body))
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/governance"
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def closed_port_url():
    """A loopback URL nobody listens on: a receiver that is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks/governance"


@pytest.fixture
def make_endpoint(db):
    from notifications.events import EventKind
    from notifications.models import WebhookEndpoint

    def make(url: str, *, name: str = "ops", events=tuple(EventKind.values), **options) -> WebhookEndpoint:
        return WebhookEndpoint.objects.create(name=name, url=url, secret=SECRET, events=list(events), **options)

    return make


@pytest.fixture
def doc_verify():
    """`verify(secret, headers, body, now=None)` executed from the snippet in docs/notifications.md."""
    text = DOC.read_text()
    snippet = re.search(r"<!-- verify-snippet -->\s*```python\n(.*?)```\s*<!-- /verify-snippet -->", text, re.S)
    assert snippet, "docs/notifications.md lost its verification snippet"
    namespace: dict = {}
    exec(compile(snippet.group(1), str(DOC), "exec"), namespace)
    return namespace["verify"]


@pytest.fixture
def links(settings):
    settings.GOVERNANCE_LINK_BASE_URL = "https://governance.example.com"
    return settings.GOVERNANCE_LINK_BASE_URL


@pytest.fixture
def short_retries(settings):
    """Retry waits of 1, 2, 4 then 3 seconds (a 10-second window): five attempts at most."""
    settings.GOVERNANCE_WEBHOOK_RETRY_FIRST_SECONDS = 1
    settings.GOVERNANCE_WEBHOOK_RETRY_MAX_WAIT_SECONDS = 4
    settings.GOVERNANCE_WEBHOOK_RETRY_WINDOW_SECONDS = 10
