"""A real OTLP/HTTP trace receiver on loopback: `POST /v1/traces` with a protobuf body, as a collector
accepts it (the OTLP specification's HTTP transport), decoded with opentelemetry-proto's messages.

    with running_otlp_receiver() as receiver:
        ...  # OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint
        request = receiver.requests.get(timeout=10)  # an ExportTraceServiceRequest
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


@dataclass
class OtlpReceiver:
    endpoint: str
    requests: queue.Queue = field(default_factory=queue.Queue)  # each decoded ExportTraceServiceRequest


@contextmanager
def running_otlp_receiver() -> Iterator[OtlpReceiver]:
    received: queue.Queue = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path != "/v1/traces" or self.headers.get("Content-Type") != "application/x-protobuf":
                self.send_error(404 if self.path != "/v1/traces" else 415)
                return
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            received.put(request)
            reply = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *_args) -> None:  # quiet test output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield OtlpReceiver(endpoint=f"http://127.0.0.1:{server.server_address[1]}", requests=received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
