"""A local HTTP server that answers like the BIGHUB control plane, for the real `bighub` SDK.

The hosted control plane cannot be reached from here; this server speaks the subset of its HTTP
API the SDK uses (`POST /actions/evaluate`, `POST /approvals/{id}/resolve`, `POST /outcomes/report`,
`POST /actions/memory/ingest`), checks the `X-API-Key` header, records every request, and answers
each tool with the decision a test configured.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "bh_test_key"


@dataclass
class FakeBighub:
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)  # action name -> reply JSON
    requests: list[dict[str, Any]] = field(default_factory=list)
    ingest_delay_seconds: float = 0.0
    ingest_status: int = 200
    base_url: str = ""

    def paths(self) -> list[str]:
        return [r["path"] for r in self.requests]

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests if r["path"] == path]

    def reply_for(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if path == "/actions/evaluate":
            reply = self.decisions.get(body.get("action"), {"allowed": True, "result": "allowed"})
            return 200, {"request_id": f"val_{len(self.requests)}", **reply}
        if path.startswith("/approvals/") and path.endswith("/resolve"):
            request_id = path.split("/")[2]
            return 200, {"request_id": request_id, "status": body.get("resolution"), "comment": body.get("comment")}
        if path == "/outcomes/report":
            return 200, {"request_id": body.get("request_id"), "status": "recorded"}
        if path == "/actions/memory/ingest":
            time.sleep(self.ingest_delay_seconds)
            return self.ingest_status, {"accepted": len(body.get("events", [])), "source": body.get("source")}
        return 404, {"detail": f"unknown path {path}"}


def _handler(fake: FakeBighub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            fake.requests.append({"path": self.path, "body": body, "api_key": self.headers.get("X-API-Key")})
            if self.headers.get("X-API-Key") != API_KEY:
                status, reply = 401, {"detail": "Invalid API key"}
            else:
                status, reply = fake.reply_for(self.path, body)
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            return

    return Handler


class running_fake_bighub:
    def __enter__(self) -> FakeBighub:
        self.fake = FakeBighub()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.fake))
        self.server.daemon_threads = True
        self.fake.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self.fake

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
