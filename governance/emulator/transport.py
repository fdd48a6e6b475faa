"""Thin httpx2 / httpx transports that route requests to a `ResponsesEmulator`.

openai>=3 talks through `httpx2`; openai 2.x through `httpx`. Both libraries share the transport
API, so the adapter classes are built once per library module. Failures use the library's own
exceptions, which the SDK maps as it does for real network trouble: `ReadTimeout` ->
`APITimeoutError`, `ConnectError` / `RemoteProtocolError` (stream cut mid-body) -> `APIConnectionError`.
"""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

import anyio

from .core import Reply, ResponsesEmulator, TransportFailure


def http_module() -> ModuleType:
    """The HTTP library the installed openai SDK is built on: httpx2 for openai>=3, else httpx."""
    import openai  # noqa: PLC0415 -- which SDK is installed is asked only when a transport is built

    major = int(str(getattr(openai, "__version__", "2")).split(".")[0])
    return importlib.import_module("httpx2" if major >= 3 else "httpx")


def sync_transport(emulator: ResponsesEmulator, module: ModuleType | None = None) -> Any:
    return _classes(module or http_module())[0](emulator)


def async_transport(emulator: ResponsesEmulator, module: ModuleType | None = None) -> Any:
    return _classes(module or http_module())[1](emulator)


def _read_timeout(request: Any) -> float | None:
    timeout = (request.extensions or {}).get("timeout") or {}
    return timeout.get("read")


def _call(emulator: ResponsesEmulator, request: Any) -> Reply:
    return emulator.handle(
        request.method,
        request.url.path,
        list(request.url.params.multi_items()),
        dict(request.headers),
        request.content,
    )


@functools.cache
def _classes(module: ModuleType) -> tuple[type, type]:
    def failure(kind: str, request: Any) -> Exception:
        if kind == "timeout":
            return module.ReadTimeout("The read operation timed out", request=request)
        if kind == "connect":
            return module.ConnectError("[Errno 111] Connection refused", request=request)
        return module.RemoteProtocolError(
            "peer closed connection without sending complete message body (incomplete chunked read)",
            request=request,
        )

    class SyncChunks(module.SyncByteStream):
        def __init__(self, reply: Reply, request: Any) -> None:
            self.reply, self.request = reply, request

        def __iter__(self) -> Iterator[bytes]:
            for n, chunk in enumerate(self.reply.chunks or []):
                if self.reply.disconnect_after is not None and n >= self.reply.disconnect_after:
                    raise failure("disconnect", self.request)
                if n and self.reply.chunk_delay:
                    time.sleep(self.reply.chunk_delay)
                yield chunk

    class AsyncChunks(module.AsyncByteStream):
        def __init__(self, reply: Reply, request: Any) -> None:
            self.reply, self.request = reply, request

        async def __aiter__(self) -> AsyncIterator[bytes]:
            for n, chunk in enumerate(self.reply.chunks or []):
                if self.reply.disconnect_after is not None and n >= self.reply.disconnect_after:
                    raise failure("disconnect", self.request)
                if n and self.reply.chunk_delay:
                    await anyio.sleep(self.reply.chunk_delay)
                yield chunk

    def response(reply: Reply, request: Any, stream: Any) -> Any:
        if reply.chunks is None:
            return module.Response(reply.status, headers=reply.headers, content=reply.body, request=request)
        return module.Response(reply.status, headers=reply.headers, stream=stream, request=request)

    class EmulatorTransport(module.BaseTransport):
        """Sync transport: every request is answered by `emulator`."""

        def __init__(self, emulator: ResponsesEmulator) -> None:
            self.emulator = emulator

        def handle_request(self, request: Any) -> Any:
            request.read()
            try:
                reply = _call(self.emulator, request)
            except TransportFailure as error:
                raise failure(error.kind, request) from None
            if reply.delay:
                limit = _read_timeout(request)
                if limit is not None and reply.delay > limit:
                    time.sleep(limit)
                    raise failure("timeout", request)
                time.sleep(reply.delay)
            return response(reply, request, SyncChunks(reply, request))

    class AsyncEmulatorTransport(module.AsyncBaseTransport):
        """Async transport: every request is answered by `emulator`."""

        def __init__(self, emulator: ResponsesEmulator) -> None:
            self.emulator = emulator

        async def handle_async_request(self, request: Any) -> Any:
            await request.aread()
            try:
                reply = _call(self.emulator, request)
            except TransportFailure as error:
                raise failure(error.kind, request) from None
            if reply.delay:
                limit = _read_timeout(request)
                if limit is not None and reply.delay > limit:
                    await anyio.sleep(limit)
                    raise failure("timeout", request)
                await anyio.sleep(reply.delay)
            return response(reply, request, AsyncChunks(reply, request))

    return EmulatorTransport, AsyncEmulatorTransport


def emulator_of(transport: Any) -> ResponsesEmulator | None:
    return getattr(transport, "emulator", None)
