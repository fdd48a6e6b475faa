"""Mapping of Responses API stream events onto the adapter's `run_stream` event table.

| adapter type               | Responses API event                      |
|----------------------------|------------------------------------------|
| llm_delta                  | response.output_text.delta               |
| llm_text_done              | response.output_text.done                |
| output_item_added          | response.output_item.added               |
| function_call_args_delta   | response.function_call_arguments.delta   |
| function_call_args_done    | response.function_call_arguments.done    |
| refusal_delta              | response.refusal.delta                   |
| response_done              | response.completed                       |
| response_failed            | response.failed                          |
| execution_event            | (adapter) governed tool decision/result  |
| final_response             | (adapter) final payload, as `run(...)`   |

Every other API event (content_part.*, in_progress, ...) is consumed silently.
"""

from __future__ import annotations

from typing import Any

STREAM_EVENT_TYPES: tuple[str, ...] = (
    "llm_delta",
    "llm_text_done",
    "output_item_added",
    "function_call_args_delta",
    "function_call_args_done",
    "refusal_delta",
    "response_done",
    "response_failed",
    "execution_event",
    "final_response",
)


def _dump(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    return value


def map_stream_event(event: Any) -> dict[str, Any] | None:
    """The adapter event for one SDK stream event, or None for events the table does not list."""
    kind = getattr(event, "type", None)
    if kind == "response.output_text.delta":
        return {"type": "llm_delta", "delta": event.delta, "item_id": event.item_id}
    if kind == "response.output_text.done":
        return {"type": "llm_text_done", "text": event.text, "item_id": event.item_id}
    if kind == "response.output_item.added":
        return {"type": "output_item_added", "item": _dump(event.item), "output_index": event.output_index}
    if kind == "response.function_call_arguments.delta":
        return {"type": "function_call_args_delta", "delta": event.delta, "item_id": event.item_id}
    if kind == "response.function_call_arguments.done":
        return {
            "type": "function_call_args_done",
            "arguments": event.arguments,
            "item_id": event.item_id,
            "name": getattr(event, "name", None),
        }
    if kind == "response.refusal.delta":
        return {"type": "refusal_delta", "delta": event.delta, "item_id": event.item_id}
    if kind == "response.completed":
        return {"type": "response_done", "response": response_to_dict(event.response)}
    if kind == "response.failed":
        response = response_to_dict(event.response)
        return {"type": "response_failed", "error": response.get("error"), "response": response}
    return None


def response_to_dict(response: Any) -> dict[str, Any]:
    """A Responses API `Response` as JSON, with the SDK's derived `output_text` added."""
    data = _dump(response)
    if not isinstance(data, dict):
        raise TypeError(f"expected a Response object, got {type(response).__name__}")
    data["output_text"] = extract_output_text(data)
    return data


def extract_output_text(response: dict[str, Any]) -> str:
    """The concatenated `output_text` parts of the response's assistant messages."""
    parts: list[str] = []
    for item in response.get("output") or []:
        if item.get("type") != "message":
            continue
        for content in item.get("content") or []:
            if content.get("type") == "output_text" and isinstance(content.get("text"), str):
                parts.append(content["text"])
    return "".join(parts)
