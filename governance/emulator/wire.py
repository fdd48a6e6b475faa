"""The Responses API wire format: the Response JSON object, its output items, usage, and SSE events.

Field names and shapes follow the SDK's own types (`openai.types.responses.*`) and what
api.openai.com sends. Internally a response always carries its reasoning `encrypted_content`;
`render_for_client` drops it unless the request asked for `reasoning.encrypted_content`.

The streamed form is derived from the finished response, in the real API's order:

    response.created, response.in_progress,
    per output item: response.output_item.added,
        reasoning: response.reasoning_summary_part.added / _text.delta... / _text.done / _part.done
        message:   response.content_part.added, response.output_text.delta... (or refusal.delta...),
                   response.output_text.done (or refusal.done), response.content_part.done
        function:  response.function_call_arguments.delta..., response.function_call_arguments.done
      response.output_item.done,
    response.completed | response.incomplete | response.failed

every event with a `sequence_number`, each sent as `event: <type>\\ndata: <json>\\n\\n`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from typing import Any

ENCRYPTED_INCLUDE = "reasoning.encrypted_content"

# --- output items -----------------------------------------------------------------------------


def output_text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def refusal_part(refusal: str) -> dict[str, Any]:
    return {"type": "refusal", "refusal": refusal}


def message_item(item_id: str, content: list[dict[str, Any]], status: str = "completed") -> dict[str, Any]:
    return {"id": item_id, "type": "message", "status": status, "content": content, "role": "assistant"}


def function_call_item(
    item_id: str, call_id: str, name: str, arguments: str, status: str = "completed"
) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "arguments": arguments,
        "call_id": call_id,
        "name": name,
    }


def reasoning_item(item_id: str, summary: str, encrypted_content: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": item_id,
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": summary}] if summary else [],
    }
    if encrypted_content is not None:
        item["encrypted_content"] = encrypted_content
    return item


# --- usage ------------------------------------------------------------------------------------


def approx_tokens(value: Any) -> int:
    """About four characters per token, like the tokenizer on English text and JSON."""
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)
    return max(1, math.ceil(len(text) / 4)) if text else 0


def usage(input_tokens: int, output_tokens: int, reasoning_tokens: int, cached_tokens: int = 0) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached_tokens, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens + output_tokens,
    }


# --- the Response object ----------------------------------------------------------------------


def echo_tools(tools: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    echoed = []
    for tool in tools or []:
        if tool.get("type") == "function":
            echoed.append(
                {
                    "type": "function",
                    "description": tool.get("description"),
                    "name": tool.get("name"),
                    "parameters": tool.get("parameters"),
                    "strict": tool.get("strict", True),
                }
            )
        else:
            echoed.append(dict(tool))
    return echoed


def response_object(
    *,
    response_id: str,
    created_at: int,
    request: dict[str, Any],
    output: list[dict[str, Any]],
    status: str,
    usage_block: dict[str, Any] | None,
    metadata: dict[str, str],
    reasoning_model: bool,
    error: dict[str, Any] | None = None,
    incomplete_details: dict[str, Any] | None = None,
    completed_at: int | None = None,
) -> dict[str, Any]:
    reasoning = dict(request.get("reasoning") or {})
    service_tier = request.get("service_tier") or "auto"
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": bool(request.get("background") or False),
        "completed_at": completed_at,
        "error": error,
        "incomplete_details": incomplete_details,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "max_tool_calls": request.get("max_tool_calls"),
        "model": request["model"],
        "output": output,
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": request.get("previous_response_id"),
        "prompt_cache_key": request.get("prompt_cache_key"),
        "prompt_cache_retention": request.get("prompt_cache_retention"),
        "reasoning": {
            "effort": reasoning.get("effort") or ("medium" if reasoning_model else None),
            "summary": reasoning.get("summary"),
        },
        "safety_identifier": request.get("safety_identifier"),
        "service_tier": "default" if service_tier == "auto" else service_tier,
        "store": request.get("store", True),
        "temperature": request.get("temperature", 1.0),
        "text": request.get("text") or {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": echo_tools(request.get("tools")),
        "top_logprobs": request.get("top_logprobs", 0),
        "top_p": request.get("top_p", 1.0),
        "truncation": request.get("truncation", "disabled"),
        "usage": usage_block,
        "user": request.get("user"),
        "metadata": metadata,
    }


def render_for_client(response: dict[str, Any], include: list[str] | None) -> dict[str, Any]:
    """The response as the client sees it: encrypted reasoning only when it was asked for."""
    rendered = copy.deepcopy(response)
    if ENCRYPTED_INCLUDE not in (include or []):
        for item in rendered.get("output", []):
            if item.get("type") == "reasoning":
                item.pop("encrypted_content", None)
    return rendered


def in_progress_snapshot(response: dict[str, Any]) -> dict[str, Any]:
    snapshot = copy.deepcopy(response)
    snapshot.update(status="in_progress", output=[], usage=None, completed_at=None, error=None, incomplete_details=None)
    return snapshot


# --- streaming --------------------------------------------------------------------------------

_WORD_CHUNKS = re.compile(r"\S+\s*|\s+")
ARGUMENT_CHUNK = 12


def text_chunks(text: str) -> list[str]:
    """Word-sized deltas, the way tokens arrive from the real API."""
    return _WORD_CHUNKS.findall(text) or [""]


def argument_chunks(arguments: str) -> list[str]:
    return [arguments[i : i + ARGUMENT_CHUNK] for i in range(0, len(arguments), ARGUMENT_CHUNK)] or [""]


def _obfuscation(item_id: str, index: int, delta: str) -> str:
    # The real API pads deltas with random characters so payload sizes leak nothing; a hash keeps it
    # deterministic here.
    return hashlib.sha256(f"{item_id}:{index}".encode()).hexdigest()[: max(2, 16 - len(delta))]


def _item_events(item: dict[str, Any], index: int, obfuscate: bool) -> list[dict[str, Any]]:
    kind = item["type"]
    item_id = item["id"]
    where = {"item_id": item_id, "output_index": index}
    events: list[dict[str, Any]] = []

    def delta_event(event_type: str, delta: str, n: int, **extra: Any) -> dict[str, Any]:
        event = {"type": event_type, **where, **extra, "delta": delta}
        if obfuscate:
            event["obfuscation"] = _obfuscation(item_id, n, delta)
        return event

    if kind == "message":
        added = {**item, "status": "in_progress", "content": []}
        events.append({"type": "response.output_item.added", "output_index": index, "item": added})
        for c, part in enumerate(item["content"]):
            at = {**where, "content_index": c}
            if part["type"] == "output_text":
                events.append({"type": "response.content_part.added", **at, "part": output_text_part("")})
                for n, chunk in enumerate(text_chunks(part["text"])):
                    events.append(delta_event("response.output_text.delta", chunk, n, content_index=c, logprobs=[]))
                events.append({"type": "response.output_text.done", **at, "text": part["text"], "logprobs": []})
            else:
                events.append({"type": "response.content_part.added", **at, "part": refusal_part("")})
                for n, chunk in enumerate(text_chunks(part["refusal"])):
                    events.append(delta_event("response.refusal.delta", chunk, n, content_index=c))
                events.append({"type": "response.refusal.done", **at, "refusal": part["refusal"]})
            events.append({"type": "response.content_part.done", **at, "part": copy.deepcopy(part)})
    elif kind == "function_call":
        added = {**item, "status": "in_progress", "arguments": ""}
        events.append({"type": "response.output_item.added", "output_index": index, "item": added})
        for n, chunk in enumerate(argument_chunks(item["arguments"])):
            events.append(delta_event("response.function_call_arguments.delta", chunk, n))
        events.append({"type": "response.function_call_arguments.done", **where, "arguments": item["arguments"]})
    elif kind == "reasoning":
        added = {key: value for key, value in item.items() if key != "encrypted_content"}
        added["summary"] = []
        events.append({"type": "response.output_item.added", "output_index": index, "item": added})
        for s, part in enumerate(item["summary"]):
            at = {**where, "summary_index": s}
            events.append(
                {
                    "type": "response.reasoning_summary_part.added",
                    **at,
                    "part": {"type": "summary_text", "text": ""},
                }
            )
            for n, chunk in enumerate(text_chunks(part["text"])):
                events.append(delta_event("response.reasoning_summary_text.delta", chunk, n, summary_index=s))
            events.append({"type": "response.reasoning_summary_text.done", **at, "text": part["text"]})
            events.append({"type": "response.reasoning_summary_part.done", **at, "part": copy.deepcopy(part)})
    events.append({"type": "response.output_item.done", "output_index": index, "item": copy.deepcopy(item)})
    return events


def stream_events(
    response: dict[str, Any],
    *,
    obfuscate: bool = True,
    fail_after: int | None = None,
    failure: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The full SSE event sequence for a finished response (already rendered for the client).

    With `fail_after`, the stream stops after that many output events and ends with
    `response.failed` carrying `failure` as its error and the partial output produced so far.
    """
    start = in_progress_snapshot(response)
    body: list[dict[str, Any]] = []
    for index, item in enumerate(response["output"]):
        body.extend(_item_events(item, index, obfuscate))
    if fail_after is not None:
        body = body[: max(0, min(fail_after, len(body)))]
        final = in_progress_snapshot(response)
        final.update(status="failed", error=failure, output=partial_output(body))
        last = {"type": "response.failed", "response": final}
    elif response["status"] == "incomplete":
        last = {"type": "response.incomplete", "response": copy.deepcopy(response)}
    elif response["status"] == "failed":
        last = {"type": "response.failed", "response": copy.deepcopy(response)}
    else:
        last = {"type": "response.completed", "response": copy.deepcopy(response)}
    events = [
        {"type": "response.created", "response": start},
        {"type": "response.in_progress", "response": copy.deepcopy(start)},
        *body,
        last,
    ]
    return [{"type": event["type"], "sequence_number": n, **event} for n, event in enumerate(events)]


def partial_output(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The output items as far as `events` got: what a failed response reports."""
    items: dict[int, dict[str, Any]] = {}
    for event in events:
        kind = event["type"]
        index = event.get("output_index")
        if kind in ("response.output_item.added", "response.output_item.done"):
            items[index] = copy.deepcopy(event["item"])
        elif kind == "response.content_part.added":
            items[index]["content"].append(copy.deepcopy(event["part"]))
        elif kind == "response.output_text.delta":
            items[index]["content"][event["content_index"]]["text"] += event["delta"]
        elif kind == "response.refusal.delta":
            items[index]["content"][event["content_index"]]["refusal"] += event["delta"]
        elif kind == "response.function_call_arguments.delta":
            items[index]["arguments"] += event["delta"]
        elif kind == "response.reasoning_summary_part.added":
            items[index]["summary"].append(copy.deepcopy(event["part"]))
        elif kind == "response.reasoning_summary_text.delta":
            items[index]["summary"][event["summary_index"]]["text"] += event["delta"]
    return [items[i] for i in sorted(items)]


def encode_sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n".encode()
