"""Injectable provider failures, queued per emulator: `emulator.inject(Fault.rate_limit(), times=2)`.

Each fault answers the next request(s) instead of the model, with what api.openai.com would send,
so the SDK raises its own exception and the caller's retry policy is what gets tested:

| fault                         | wire                                            | SDK raises              |
|-------------------------------|-------------------------------------------------|-------------------------|
| `rate_limit(retry_after=1)`   | 429 rate_limit_exceeded + `retry-after` header  | RateLimitError          |
| `quota_exceeded()`            | 429 insufficient_quota (not worth retrying)     | RateLimitError          |
| `server_error()`              | 500 server_error                                | InternalServerError     |
| `overloaded()`                | 503 "The server is overloaded..."               | InternalServerError     |
| `bad_request(message)`        | 400 invalid_request_error                       | BadRequestError         |
| `unauthorized()`              | 401 invalid_api_key                             | AuthenticationError     |
| `http(status, message, ...)`  | any status with the real error body             | per status              |
| `timeout()`                   | the transport's ReadTimeout                     | APITimeoutError         |
| `connection_error()`          | the transport's ConnectError                    | APIConnectionError      |
| `latency(seconds)`            | answers late; past the read timeout: ReadTimeout| APITimeoutError if late |
| `stream_failure(after_events)`| 200 SSE that ends in `response.failed`          | (event, not exception)  |
| `stream_disconnect(after_...)`| 200 SSE cut off mid-body (RemoteProtocolError)  | APIConnectionError      |

The two stream faults wait for the next streaming request; every other fault takes the next request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, invalid_api_key, server_error

HTTP = "http"
TIMEOUT = "timeout"
CONNECT = "connect"
LATENCY = "latency"
STREAM_FAILURE = "stream_failure"
STREAM_DISCONNECT = "stream_disconnect"
_STREAM_KINDS = (STREAM_FAILURE, STREAM_DISCONNECT)


@dataclass(frozen=True)
class Fault:
    kind: str
    status: int | None = None
    message: str | None = None
    error_type: str | None = None
    param: str | None = None
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    after_events: int | None = None
    seconds: float = 0.0

    # -- HTTP errors ---------------------------------------------------------------------------

    @classmethod
    def http(
        cls,
        status: int,
        message: str,
        *,
        error_type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Fault:
        return cls(
            HTTP,
            status=status,
            message=message,
            error_type=error_type,
            param=param,
            code=code,
            headers=dict(headers or {}),
        )

    @classmethod
    def rate_limit(cls, retry_after: float = 1.0) -> Fault:
        seconds = int(retry_after) if float(retry_after).is_integer() else retry_after
        return cls(
            HTTP,
            status=429,
            error_type="tokens",
            code="rate_limit_exceeded",
            seconds=float(retry_after),
            headers={
                "retry-after": str(seconds),
                "x-ratelimit-limit-requests": "500",
                "x-ratelimit-remaining-requests": "499",
                "x-ratelimit-limit-tokens": "30000",
                "x-ratelimit-remaining-tokens": "0",
                "x-ratelimit-reset-tokens": f"{seconds}s",
            },
        )

    @classmethod
    def quota_exceeded(cls) -> Fault:
        return cls.http(
            429,
            "You exceeded your current quota, please check your plan and billing details. For more "
            "information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
            error_type="insufficient_quota",
            code="insufficient_quota",
        )

    @classmethod
    def server_error(cls) -> Fault:
        return cls(HTTP, status=500)

    @classmethod
    def overloaded(cls) -> Fault:
        return cls.http(503, "The server is overloaded or not ready yet.", error_type="server_error")

    @classmethod
    def bad_request(
        cls, message: str = "Invalid request.", *, param: str | None = None, code: str | None = None
    ) -> Fault:
        return cls.http(400, message, param=param, code=code)

    @classmethod
    def unauthorized(cls) -> Fault:
        return cls(HTTP, status=401)

    # -- transport failures --------------------------------------------------------------------

    @classmethod
    def timeout(cls) -> Fault:
        return cls(TIMEOUT)

    @classmethod
    def connection_error(cls) -> Fault:
        return cls(CONNECT)

    @classmethod
    def latency(cls, seconds: float) -> Fault:
        return cls(LATENCY, seconds=seconds)

    @classmethod
    def stream_failure(
        cls,
        after_events: int | None = None,
        message: str = "An error occurred while processing your request.",
    ) -> Fault:
        return cls(STREAM_FAILURE, after_events=after_events, message=message)

    @classmethod
    def stream_disconnect(cls, after_events: int | None = None) -> Fault:
        return cls(STREAM_DISCONNECT, after_events=after_events)

    # -- applying ------------------------------------------------------------------------------

    @property
    def streaming_only(self) -> bool:
        return self.kind in _STREAM_KINDS

    def api_error(self, request: dict[str, Any] | None, request_id: str) -> ApiError:
        """The HTTP error this fault answers with (kind == "http")."""
        if self.status == 500 and self.message is None:
            return server_error(request_id)
        if self.status == 401 and self.message is None:
            return invalid_api_key()
        message = self.message
        if self.status == 429 and message is None:
            model = (request or {}).get("model") or "gpt-4.1"
            wait = int(self.seconds) if self.seconds.is_integer() else self.seconds
            message = (
                f"Rate limit reached for {model} in organization org-emulator on tokens per min (TPM): "
                f"Limit 30000, Used 30000, Requested 1024. Please try again in {wait}s. "
                "Visit https://platform.openai.com/account/rate-limits to learn more."
            )
        return ApiError(
            self.status or 500,
            message or "Error.",
            type=self.error_type or "invalid_request_error",
            param=self.param,
            code=self.code,
            headers=self.headers,
        )


class FaultQueue:
    """Faults waiting for requests, each with how many requests it still answers."""

    def __init__(self) -> None:
        self._queue: list[list[Any]] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault, times: int = 1) -> None:
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._queue.append([fault, times])

    def take(self, *, streaming: bool) -> Fault | None:
        with self._lock:
            for entry in self._queue:
                fault = entry[0]
                if fault.streaming_only and not streaming:
                    continue
                entry[1] -= 1
                if entry[1] == 0:
                    self._queue.remove(entry)
                return fault
        return None

    def pending(self) -> list[tuple[Fault, int]]:
        with self._lock:
            return [(fault, times) for fault, times in self._queue]

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
