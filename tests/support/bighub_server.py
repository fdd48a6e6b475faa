"""A local HTTP server that answers like the BIGHUB control plane, for the real `bighub` SDK.

The hosted control plane cannot be reached from here. This server speaks the subset of its HTTP API
that the SDK (0.1.0b5) uses for governance, with the JSON shapes of the SDK's `types.py`:

| SDK call | HTTP | reply |
|---|---|---|
| `actions.evaluate` / `submit` / `evaluate_payload` | `POST /actions/evaluate` | `ActionEvaluateResponse` |
| `approvals.list` | `GET /approvals?status=pending` | `[ApprovalItem]` |
| (`governance.guard.wait_for_reviewer`) | `GET /approvals/{request_id}?wait=SECONDS` | `ApprovalItem` |
| `approvals.resolve` | `POST /approvals/{request_id}/resolve` | `ApprovalItem` |
| `outcomes.report` | `POST /outcomes/report` | `OutcomeReportResponse` |
| `actions.ingest_memory` | `POST /actions/memory/ingest` | `MemoryIngestResponse` |

Every request needs `X-API-Key: API_KEY` (401 `{"detail": ...}` otherwise, as BIGHUB answers); a
body missing a required field gets 422 with a FastAPI-style detail list. Every request is recorded.
Tell it what to decide per action with `fake.decisions["refund_payment"] = {...reply fields...}`
(default: allowed); `fail[path] = status` makes a path answer that HTTP error; `delays[path] = seconds`
slows it down. Evaluations that ask for approval become pending approvals (a dry run, `"dry_run": true`,
records none) that `approvals.resolve` resolves once (404 for an unknown id, 409 when already resolved).

`GET /approvals/{request_id}?wait=SECONDS` is the long poll the dashboard serves: it answers the item as
soon as it is no longer pending, or after SECONDS (at most 60) with status `pending`; without `wait`, at
once. A reviewer's click in the dashboard is `fake.decide(request_id, "approved"|"rejected"|"expired",
comment=...)`. `server.stop()` takes the server down (open connections are cut too) and `server.start()`
brings it back on the same port with the same state.

    with running_fake_bighub() as fake:
        client = bighub.BighubClient(api_key=API_KEY, base_url=fake.base_url)
"""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_KEY = "bh_test_key"
MAX_WAIT_SECONDS = 60.0
DEFAULT_DECISION: dict[str, Any] = {"allowed": True, "result": "allowed", "reason": "no rule applies"}
_APPROVAL_WORDS = {"requires_approval", "approval_required", "pending_approval"}


def _needs_approval(reply: dict[str, Any]) -> bool:
    if reply.get("requires_approval") is True or reply.get("human_review") is True:
        return True
    if any(str(reply.get(k) or "").lower() in _APPROVAL_WORDS for k in ("enforced_verdict", "result", "decision")):
        return True
    return reply.get("enforcement_mode") == "review" and reply.get("recommendation") != "proceed"


def _missing(body: dict[str, Any], required: dict[str, type | tuple[type, ...]]) -> list[dict[str, Any]]:
    problems = []
    for name, kind in required.items():
        if name not in body:
            problems.append({"loc": ["body", name], "msg": "Field required", "type": "missing"})
        elif not isinstance(body[name], kind):
            problems.append({"loc": ["body", name], "msg": "Input has the wrong type", "type": "type_error"})
    return problems


@dataclass
class FakeBighub:
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)  # action name -> reply fields
    requests: list[dict[str, Any]] = field(default_factory=list)
    approvals: dict[str, dict[str, Any]] = field(default_factory=dict)  # request_id -> ApprovalItem
    fail: dict[str, int] = field(default_factory=dict)  # path -> HTTP status to answer instead
    delays: dict[str, float] = field(default_factory=dict)  # path -> seconds to wait before answering
    ingest_delay_seconds: float = 0.0
    ingest_status: int = 200
    base_url: str = ""
    _evaluations: int = 0
    _stored_events: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    server: running_fake_bighub | None = None

    def __post_init__(self) -> None:
        self._changed = threading.Condition(self._lock)  # notified whenever an approval is resolved

    def decide(self, request_id: str, status: str, *, comment: str | None = None) -> dict[str, Any]:
        """A reviewer decides in the dashboard (or the request expires): long polls on it answer now."""
        with self._lock:
            item = self.approvals[request_id]
            if item["status"] != "pending":
                raise ValueError(f"approval request {request_id} is already {item['status']}")
            item.update(status=status, resolution=status, comment=comment, resolved_at=datetime.now(UTC).isoformat())
            self._changed.notify_all()
            return dict(item)

    def approval_reads(self, request_id: str) -> list[dict[str, list[str]]]:
        """The query of each `GET /approvals/{request_id}` received, in order."""
        return [r["query"] for r in self.requests if r["method"] == "GET" and r["path"] == f"/approvals/{request_id}"]

    def paths(self) -> list[str]:
        return [r["path"] for r in self.requests]

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests if r["path"] == path]

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(entry)

    def reply_for(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        if path in self.fail:
            return self.fail[path], {"detail": f"{path} is failing (fake)"}
        if path == "/actions/memory/ingest" and self.ingest_status != 200:
            return self.ingest_status, {"detail": "ingest is failing (fake)"}
        if method == "GET" and path == "/approvals":
            wanted = (query.get("status") or ["pending"])[0]
            with self._lock:
                items = [dict(a) for a in self.approvals.values() if a["status"] == wanted]
            limit = query.get("limit")
            return 200, items[: int(limit[0])] if limit else items
        if method == "GET" and path.startswith("/approvals/") and path.count("/") == 2:
            return self._approval(path.split("/")[2], query)
        if method != "POST":
            return 405, {"detail": "Method Not Allowed"}
        if not isinstance(body, dict):
            return 422, {"detail": [{"loc": ["body"], "msg": "Input should be an object", "type": "dict_type"}]}
        if path == "/actions/evaluate":
            return self._evaluate(body)
        if path.startswith("/approvals/") and path.endswith("/resolve"):
            return self._resolve(path.split("/")[2], body)
        if path == "/outcomes/report":
            problems = _missing(body, {"status": str})
            if problems:
                return 422, {"detail": problems}
            return 200, {"outcome_id": f"out_{len(self.bodies(path))}", "request_id": body.get("request_id"),
                         "status": body["status"], "reported_by": body.get("reported_by", ""),
                         "reported_at": datetime.now(UTC).isoformat(), "details": body.get("details") or {}}
        if path == "/actions/memory/ingest":
            problems = _missing(body, {"events": list, "source": str})
            if problems:
                return 422, {"detail": problems}
            time.sleep(self.ingest_delay_seconds)
            with self._lock:
                self._stored_events += len(body["events"])
                total = self._stored_events
            return 200, {"accepted": len(body["events"]), "total_stored": total, "source": body["source"]}
        return 404, {"detail": "Not Found"}

    def _evaluate(self, body: dict[str, Any]) -> tuple[int, Any]:
        problems = _missing(body, {"action": str, "actor": str})
        if "value" in body and not isinstance(body["value"], (int, float)):
            problems.append({"loc": ["body", "value"], "msg": "Input should be a number", "type": "float_type"})
        if problems:
            return 422, {"detail": problems}
        with self._lock:
            self._evaluations += 1
            request_id = f"val_{self._evaluations}"
        reply = {"request_id": request_id, **self.decisions.get(body["action"], DEFAULT_DECISION)}
        if body.get("dry_run") is True:
            reply["dry_run"] = True
        elif _needs_approval(reply):
            with self._lock:
                self.approvals[reply["request_id"]] = {
                    "request_id": reply["request_id"], "validation_id": reply["request_id"],
                    "rule_id": reply.get("blocked_by") or "", "action": body["action"], "actor": body["actor"],
                    "value": body.get("value"), "status": "pending", "created_at": datetime.now(UTC).isoformat()}
        return 200, reply

    def _resolve(self, request_id: str, body: dict[str, Any]) -> tuple[int, Any]:
        problems = _missing(body, {"resolution": str})
        if not problems and body["resolution"] not in ("approved", "rejected"):
            problems.append({"loc": ["body", "resolution"], "msg": "Input should be 'approved' or 'rejected'",
                             "type": "enum"})
        if problems:
            return 422, {"detail": problems}
        with self._lock:
            item = self.approvals.get(request_id)
            if item is None:
                return 404, {"detail": f"approval request {request_id} not found"}
            if item["status"] != "pending":
                return 409, {"detail": f"approval request {request_id} is already {item['status']}"}
            item.update(status=body["resolution"], resolution=body["resolution"], comment=body.get("comment"),
                        resolved_at=datetime.now(UTC).isoformat())
            self._changed.notify_all()
            return 200, dict(item)

    def _approval(self, request_id: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        raw = (query.get("wait") or ["0"])[0]
        try:
            wait = float(raw)
        except ValueError:
            wait = math.nan
        if not 0 <= wait < math.inf:
            return 422, {"detail": [{"loc": ["query", "wait"], "msg": "Input should be a number of seconds",
                                     "type": "float_parsing"}]}
        deadline = time.monotonic() + min(wait, MAX_WAIT_SECONDS)
        with self._lock:
            item = self.approvals.get(request_id)
            if item is None:
                return 404, {"detail": f"approval request {request_id} not found"}
            while item["status"] == "pending" and (left := deadline - time.monotonic()) > 0:
                self._changed.wait(left)
            return 200, dict(item)


def _handler(fake: FakeBighub, connections: set[socket.socket]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects from a real server

        def setup(self) -> None:
            super().setup()
            connections.add(self.connection)

        def finish(self) -> None:
            connections.discard(self.connection)
            super().finish()

        def _handle(self, method: str) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            query = parse_qs(url.query)
            fake.record({"method": method, "path": url.path, "query": query, "body": body,
                         "api_key": self.headers.get("X-API-Key"), "user_agent": self.headers.get("User-Agent"),
                         "idempotency_key": self.headers.get("Idempotency-Key")})
            time.sleep(fake.delays.get(url.path, 0.0))
            if self.headers.get("X-API-Key") != API_KEY:
                status, reply = 401, {"detail": "Invalid API key"}
            else:
                status, reply = fake.reply_for(method, url.path, query, body)
            data = json.dumps(reply).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError, OSError):
                pass  # the client gave up (a timeout under test), or the server was taken down

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def log_message(self, *args: Any) -> None:
            return

    return Handler


class running_fake_bighub:
    """Context manager: a `FakeBighub` served on 127.0.0.1, random port, in a background thread.

    The fake's `server` is this object: `stop()` takes the server down (the port refuses connections
    and open ones are cut), `start()` serves the same fake on the same port again.
    """

    def __enter__(self) -> FakeBighub:
        self.fake = FakeBighub(server=self)
        self.port = 0
        self.server: ThreadingHTTPServer | None = None
        self.start()
        return self.fake

    def start(self) -> None:
        self.connections: set[socket.socket] = set()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self.fake, self.connections))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.fake.base_url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.server is None:
            return
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        for connection in list(self.connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by its handler
        self.server = None

    def __exit__(self, *exc: Any) -> None:
        self.stop()
