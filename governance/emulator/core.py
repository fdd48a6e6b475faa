"""`ResponsesEmulator`: the offline stand-in for api.openai.com's Responses endpoints.

Transport-independent: `handle(method, path, query, headers, body)` returns a `Reply` (status,
headers, JSON body or SSE chunks) or raises `TransportFailure` for a timeout / refused connection;
`transport` adapts it to httpx2/httpx. Routes:

    POST   /v1/responses                      create (JSON or SSE with stream=true)
    GET    /v1/responses/{id}                 retrieve a stored response (?include[]=..., ?stream=true)
    DELETE /v1/responses/{id}                 delete a stored response
    GET    /v1/responses/{id}/input_items     the stored input items

Anything else is the real API's 404 "Invalid URL (...)". A create request goes through: queued
fault (if any) -> API key check -> `validation` -> `store` (previous_response_id) ->
`conversation` checks -> the next scripted turn, or the demo model -> `wire`.
"""

from __future__ import annotations

import collections
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import faults as fault_kinds
from . import wire
from .conversation import check_conversation, normalize_input
from .demo_model import DemoModel
from .errors import ApiError, invalid_json_body, invalid_url, missing_api_key, response_not_found
from .faults import Fault, FaultQueue
from .ids import IdFactory
from .plan import ModelTurn, PlannedCall, PlannedText
from .script import ScriptedTurn
from .sealed import seal
from .store import MemoryResponseStore, ResponseStore, StoredResponse, prior_context
from .validation import validate_create

REASONING_MODELS = re.compile(r"^(o\d|gpt-5|codex|computer-use)", re.I)
REASONING_POLICIES = ("always", "auto", "never")

ScriptEntry = ScriptedTurn | Callable[[dict[str, Any], list[dict[str, Any]]], ScriptedTurn]


@dataclass
class Reply:
    """One HTTP answer, before a transport turns it into its library's Response."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    chunks: list[bytes] | None = None  # SSE events, when streaming
    disconnect_after: int | None = None  # cut the stream after this many chunks (a dropped connection)
    delay: float = 0.0  # seconds before the answer starts (latency fault)
    chunk_delay: float = 0.0  # seconds between SSE events


class TransportFailure(Exception):
    """No HTTP answer at all: `kind` is "timeout" or "connect"."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass
class Exchange:
    method: str
    path: str
    body: Any
    status: int | None = None  # None when the transport failed


@dataclass
class _Outcome:
    response: dict[str, Any]
    reasoning_of: dict[str, str] = field(default_factory=dict)


class ResponsesEmulator:
    """An in-process Responses API.

    script: scripted turns consumed in order by valid create requests (then the demo model answers);
        an entry may also be a callable `(request, conversation) -> ScriptedTurn`.
    store: where store=true responses live (default: a private in-memory store).
    seed: make ids deterministic.
    reasoning: "always" (every turn starts with a reasoning item, so replay logic is exercised with
        any model), "auto" (only o-series / gpt-5 / codex model names, like the real API), "never".
    stream_delay: seconds between SSE events, to watch a live UI stream.
    require_api_key: answer 401 when the request has no bearer token, like the real API.
    max_recorded: how many requests/exchanges to remember (oldest dropped), so a long-running demo
        server does not grow without bound.
    """

    def __init__(
        self,
        *,
        script: Iterable[ScriptEntry] | None = None,
        store: ResponseStore | None = None,
        seed: int | str | None = None,
        reasoning: str = "always",
        stream_delay: float = 0.0,
        clock: Callable[[], float] = time.time,
        require_api_key: bool = True,
        max_recorded: int = 10_000,
    ) -> None:
        if reasoning not in REASONING_POLICIES:
            raise ValueError(f"reasoning must be one of {REASONING_POLICIES}")
        self.store: ResponseStore = store if store is not None else MemoryResponseStore()
        self.reasoning = reasoning
        self.stream_delay = stream_delay
        self.require_api_key = require_api_key
        self.max_recorded = max_recorded
        self.requests: list[dict[str, Any]] = []  # JSON bodies of every POST /v1/responses, in order
        self.exchanges: list[Exchange] = []  # every HTTP exchange, with its status
        self.faults = FaultQueue()
        self.demo_model = DemoModel()
        self._script: collections.deque[ScriptEntry] = collections.deque(script or [])
        self._ids = IdFactory(seed)
        self._clock = clock
        self._reasoning_of: dict[str, str] = {}
        self._lock = threading.RLock()

    # -- test controls -------------------------------------------------------------------------

    def inject(self, fault: Fault, times: int = 1) -> None:
        """Answer the next `times` requests (streaming ones, for stream faults) with `fault`."""
        self.faults.add(fault, times)

    def add_script(self, *turns: ScriptEntry) -> None:
        with self._lock:
            self._script.extend(turns)

    @property
    def script_remaining(self) -> int:
        return len(self._script)

    def stored(self, response_id: str) -> dict[str, Any] | None:
        record = self.store.get(response_id)
        return record.response if record else None

    # -- HTTP entry point ----------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: Iterable[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> Reply:
        method = method.upper()
        route = path[3:] if path.startswith("/v1/") else path
        request_id = self._ids.new("req")
        exchange = Exchange(method, path, None)
        with self._lock:
            _append_bounded(self.exchanges, exchange, self.max_recorded)
        try:
            reply = self._route(
                method,
                route,
                path,
                list(query),
                {k.lower(): v for k, v in (headers or {}).items()},
                body,
                request_id,
                exchange,
            )
        except ApiError as error:
            reply = Reply(error.status, _headers(request_id, "application/json", error.headers), error.body_bytes())
        exchange.status = reply.status
        return reply

    def _route(
        self,
        method: str,
        route: str,
        path: str,
        query: list[tuple[str, str]],
        headers: dict[str, str],
        body: bytes,
        request_id: str,
        exchange: Exchange,
    ) -> Reply:
        parts = [part for part in route.split("/") if part]
        if parts == ["responses"] and method == "POST":
            return self._create(headers, body, request_id, exchange)
        streaming = method == "GET" and _query_value(query, "stream") == "true"
        fault = self.faults.take(streaming=streaming)
        delay = self._apply_fault(fault, None, request_id)
        self._check_key(headers)
        if len(parts) == 2 and parts[0] == "responses" and method in ("GET", "DELETE"):
            reply = (
                self._retrieve(parts[1], query, request_id) if method == "GET" else self._delete(parts[1], request_id)
            )
        elif len(parts) == 3 and parts[0] == "responses" and parts[2] == "input_items" and method == "GET":
            reply = self._input_items(parts[1], query, request_id)
        else:
            raise invalid_url(method, path)
        reply.delay = delay
        return reply

    def _apply_fault(self, fault: Fault | None, request: dict[str, Any] | None, request_id: str) -> float:
        if fault is None:
            return 0.0
        if fault.kind == fault_kinds.HTTP:
            raise fault.api_error(request, request_id)
        if fault.kind in (fault_kinds.TIMEOUT, fault_kinds.CONNECT):
            raise TransportFailure(fault.kind)
        if fault.kind == fault_kinds.LATENCY:
            return fault.seconds
        return 0.0

    def _check_key(self, headers: dict[str, str]) -> None:
        if not self.require_api_key:
            return
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise missing_api_key()

    # -- POST /v1/responses --------------------------------------------------------------------

    def _create(self, headers: dict[str, str], raw: bytes, request_id: str, exchange: Exchange) -> Reply:
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
            parsed = False
        else:
            parsed = True
            exchange.body = body
            with self._lock:
                _append_bounded(self.requests, body, self.max_recorded)
        streaming = isinstance(body, dict) and body.get("stream") is True
        fault = self.faults.take(streaming=streaming)
        delay = self._apply_fault(fault, body if isinstance(body, dict) else None, request_id)
        self._check_key(headers)
        if not parsed:
            raise invalid_json_body()
        request = validate_create(body)
        with self._lock:
            outcome = self._respond(request)
        response = outcome.response
        rendered = wire.render_for_client(response, request.get("include"))
        if not streaming:
            reply = Reply(200, _headers(request_id, "application/json"), json.dumps(rendered, indent=2).encode())
            reply.delay = delay
            return reply
        return self._stream_reply(request, response, rendered, fault, request_id, delay)

    def _stream_reply(
        self,
        request: dict[str, Any],
        response: dict[str, Any],
        rendered: dict[str, Any],
        fault: Fault | None,
        request_id: str,
        delay: float,
    ) -> Reply:
        obfuscate = (request.get("stream_options") or {}).get("include_obfuscation", True) is not False
        events = wire.stream_events(rendered, obfuscate=obfuscate)
        disconnect_after = None
        if fault is not None and fault.kind == fault_kinds.STREAM_FAILURE:
            body_events = len(events) - 3
            after = fault.after_events if fault.after_events is not None else max(1, body_events // 2)
            failure = {"code": "server_error", "message": fault.message}
            events = wire.stream_events(rendered, obfuscate=obfuscate, fail_after=after, failure=failure)
            if request.get("store", True):  # what a later retrieve shows: the failed response
                with self._lock:
                    record = self.store.get(response["id"])
                    if record is not None:
                        record.response = events[-1]["response"]
                        self.store.put(record)
        elif fault is not None and fault.kind == fault_kinds.STREAM_DISCONNECT:
            disconnect_after = fault.after_events if fault.after_events is not None else max(2, len(events) // 2)
        return Reply(
            200,
            _headers(request_id, "text/event-stream; charset=utf-8"),
            chunks=[wire.encode_sse(event) for event in events],
            disconnect_after=disconnect_after,
            delay=delay,
            chunk_delay=self.stream_delay,
        )

    def _respond(self, request: dict[str, Any]) -> _Outcome:
        prior = prior_context(self.store, request.get("previous_response_id"))
        new_items = normalize_input(request["input"], self.store)
        conversation = prior + new_items
        check_conversation(conversation, len(prior), self.store, self._reasoning_of)
        turn = self._next_turn(request, conversation)
        outcome = self._build(request, turn, conversation)
        self._reasoning_of.update(outcome.reasoning_of)
        while len(self._reasoning_of) > 10 * self.max_recorded:
            del self._reasoning_of[next(iter(self._reasoning_of))]
        if request.get("store", True):
            for item in new_items:
                if item["type"] == "message" and "id" not in item:
                    item["id"] = self._ids.new("msg")
            context = prior + new_items + outcome.response["output"]
            self.store.put(StoredResponse(response=outcome.response, input_items=new_items, context=context))
        return outcome

    def _next_turn(self, request: dict[str, Any], conversation: list[dict[str, Any]]) -> ModelTurn:
        reasoning_on = self._reasoning_on(request["model"])
        if self._script:
            entry = self._script.popleft()
            scripted = entry(request, conversation) if callable(entry) else entry
            return scripted.to_turn(default_reasoning=reasoning_on)
        turn = self.demo_model.respond(request, conversation)
        if not reasoning_on:
            turn.reasoning = None
        return turn

    def _reasoning_on(self, model: str) -> bool:
        if self.reasoning == "auto":
            return bool(REASONING_MODELS.match(model))
        return self.reasoning == "always"

    def _build(self, request: dict[str, Any], turn: ModelTurn, conversation: list[dict[str, Any]]) -> _Outcome:
        planned = list(turn.items) or [PlannedText("")]
        item_ids = [self._ids.new("fc" if isinstance(p, PlannedCall) else "msg") for p in planned]
        budget = request.get("max_output_tokens")
        spent = 0
        incomplete = False
        output: list[dict[str, Any]] = []
        links: dict[str, str] = {}
        reasoning_tokens = 0
        if turn.reasoning is not None:
            rs_id = self._ids.new("rs")
            shown = turn.reasoning if (request.get("reasoning") or {}).get("summary") else ""
            token = seal({"id": rs_id, "followers": item_ids, "summary": turn.reasoning, "model": request["model"]})
            output.append(wire.reasoning_item(rs_id, shown, token))
            reasoning_tokens = 48 + wire.approx_tokens(turn.reasoning)
            spent = reasoning_tokens
            links = dict.fromkeys(item_ids, rs_id)
            if budget is not None and spent >= budget:
                incomplete, planned = True, []
        for item_id, plan in zip(item_ids, planned, strict=False):
            left = None if budget is None else budget - spent
            item, used, cut = _output_item(item_id, plan, left, self._ids)
            output.append(item)
            spent += used
            if cut:
                incomplete = True
                break
        now = int(self._clock())
        metadata = {**(request.get("metadata") or {}), "emulator": turn.source}
        input_tokens = (
            wire.approx_tokens(conversation)
            + wire.approx_tokens(request.get("tools") or [])
            + wire.approx_tokens(request.get("instructions") or "")
        )
        response = wire.response_object(
            response_id=self._ids.new("resp"),
            created_at=now,
            request=request,
            output=output,
            status="incomplete" if incomplete else "completed",
            usage_block=wire.usage(input_tokens, spent, reasoning_tokens),
            metadata=metadata,
            reasoning_model=bool(REASONING_MODELS.match(request["model"])),
            incomplete_details={"reason": "max_output_tokens"} if incomplete else None,
            completed_at=None if incomplete else now,
        )
        return _Outcome(response, links)

    # -- GET / DELETE --------------------------------------------------------------------------

    def _record(self, response_id: str) -> StoredResponse:
        record = self.store.get(response_id)
        if record is None:
            raise response_not_found(response_id)
        return record

    def _retrieve(self, response_id: str, query: list[tuple[str, str]], request_id: str) -> Reply:
        record = self._record(response_id)
        include = [value for key, value in query if key in ("include", "include[]")]
        rendered = wire.render_for_client(record.response, include)
        if _query_value(query, "stream") != "true":
            return Reply(200, _headers(request_id, "application/json"), json.dumps(rendered, indent=2).encode())
        after = int(_query_value(query, "starting_after") or -1)
        events = [event for event in wire.stream_events(rendered) if event["sequence_number"] > after]
        return Reply(
            200,
            _headers(request_id, "text/event-stream; charset=utf-8"),
            chunks=[wire.encode_sse(event) for event in events],
            chunk_delay=self.stream_delay,
        )

    def _delete(self, response_id: str, request_id: str) -> Reply:
        if not self.store.delete(response_id):
            raise response_not_found(response_id)
        body = {"id": response_id, "object": "response.deleted", "deleted": True}
        return Reply(200, _headers(request_id, "application/json"), json.dumps(body).encode())

    def _input_items(self, response_id: str, query: list[tuple[str, str]], request_id: str) -> Reply:
        items = list(self._record(response_id).input_items)
        if (_query_value(query, "order") or "desc") == "desc":
            items.reverse()
        after = _query_value(query, "after")
        if after:
            ids = [item.get("id") for item in items]
            items = items[ids.index(after) + 1 :] if after in ids else []
        limit = int(_query_value(query, "limit") or 20)
        page = items[:limit]
        body = {
            "object": "list",
            "data": page,
            "first_id": page[0].get("id") if page else None,
            "last_id": page[-1].get("id") if page else None,
            "has_more": len(items) > limit,
        }
        return Reply(200, _headers(request_id, "application/json"), json.dumps(body).encode())


def _output_item(item_id: str, plan: Any, left: int | None, ids: IdFactory) -> tuple[dict[str, Any], int, bool]:
    """The wire item for one planned output, the tokens it used, and whether the budget cut it."""
    if isinstance(plan, PlannedCall):
        needed = wire.approx_tokens(plan.arguments) + wire.approx_tokens(plan.name) + 4
        cut = left is not None and needed > left
        arguments = plan.arguments[: max(0, (left or 0) * 4)] if cut else plan.arguments
        item = wire.function_call_item(
            item_id,
            plan.call_id or ids.new("call"),
            plan.name,
            arguments,
            status="incomplete" if cut else "completed",
        )
        return item, (left if cut else needed) or 0, cut
    text = plan.text if isinstance(plan, PlannedText) else plan.refusal
    needed = wire.approx_tokens(text) if text else 1
    cut = left is not None and needed > left
    if cut:
        text = text[: max(0, (left or 0) * 4)]
    part = wire.output_text_part(text) if isinstance(plan, PlannedText) else wire.refusal_part(text)
    item = wire.message_item(item_id, [part], status="incomplete" if cut else "completed")
    return item, (left if cut else needed) or 0, cut


def _append_bounded(records: list[Any], value: Any, limit: int) -> None:
    records.append(value)
    if len(records) > limit:
        del records[: len(records) - limit]


def _headers(request_id: str, content_type: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {
        "content-type": content_type,
        "x-request-id": request_id,
        "openai-version": "2020-10-01",
        "openai-processing-ms": "7",
        **(extra or {}),
    }


def _query_value(query: list[tuple[str, str]], key: str) -> str | None:
    return next((value for name, value in query if name == key), None)
