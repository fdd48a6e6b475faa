"""A request's input items, normalised and checked against the whole conversation like the real API.

The conversation a turn sees is the stored context of `previous_response_id` (if any) followed by
the request's input items. The real API's 4xx errors for inconsistent conversations are reproduced,
because each one is a bug in a client that replays its own items:

- a `function_call_output` whose call_id matches no earlier `function_call`:
  400 "No tool call found for function call output with call_id ...";
- a `function_call` that never gets its output: 400 "No tool output found for function call ...";
- a `reasoning` item without `encrypted_content` that was never stored (store=false):
  404 "Item with id 'rs_...' not found. Items are not persisted when `store` is set to false...";
- `encrypted_content` the emulator did not issue: 400 invalid_encrypted_content;
- a reasoning item not followed by the item it produced, or an output item replayed without the
  reasoning item that preceded it: the real "provided without its required ..." 400s;
- output item ids with the wrong prefix, `arguments`/`output` that are not strings.
"""

from __future__ import annotations

from typing import Any

from .errors import ApiError, bad_request, invalid_type, invalid_value, item_not_persisted, missing_parameter
from .sealed import unseal
from .store import ResponseStore

_ROLES = ("user", "assistant", "system", "developer")
_ID_PREFIX = {"message": "msg", "function_call": "fc", "reasoning": "rs"}
_SUPPORTED_TYPES = ("message", "function_call", "function_call_output", "reasoning", "item_reference")


def normalize_input(raw: Any, store: ResponseStore) -> list[dict[str, Any]]:
    """The request's `input` as a list of typed items (a string becomes one user message)."""
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": raw}]}]
    return [_normalize_item(i, item, store) for i, item in enumerate(raw)]


def _normalize_item(i: int, item: Any, store: ResponseStore) -> dict[str, Any]:
    where = f"input[{i}]"
    if not isinstance(item, dict):
        raise invalid_type(where, "an object", item)
    kind = item.get("type") or ("message" if "role" in item else None)
    if kind is None:
        raise missing_parameter(f"{where}.type")
    if kind not in _SUPPORTED_TYPES:
        supported = ", ".join(f"'{t}'" for t in _SUPPORTED_TYPES)
        raise invalid_value(f"{where}.type", f"Invalid value: '{kind}'. Supported values are: {supported}.")
    item = {**item, "type": kind}
    item_id = item.get("id")
    if item_id is not None:
        if not isinstance(item_id, str):
            raise invalid_type(f"{where}.id", "a string", item_id)
        prefix = _ID_PREFIX.get(kind)
        if prefix and not (kind == "message" and item.get("role") != "assistant") and not item_id.startswith(prefix):
            raise invalid_value(
                f"{where}.id",
                f"Invalid '{where}.id': '{item_id}'. Expected an ID that begins with '{prefix}'.",
            )
    if kind == "message":
        return _normalize_message(where, item)
    if kind == "function_call":
        for key in ("call_id", "name", "arguments"):
            if item.get(key) is None:
                raise missing_parameter(f"{where}.{key}")
            if not isinstance(item[key], str):
                raise invalid_type(f"{where}.{key}", "a string", item[key])
        return item
    if kind == "function_call_output":
        if item.get("call_id") is None:
            raise missing_parameter(f"{where}.call_id")
        if item.get("output") is None:
            raise missing_parameter(f"{where}.output")
        if not isinstance(item["output"], str | list):
            raise invalid_type(f"{where}.output", "one of a string or array of objects", item["output"])
        return item
    if kind == "reasoning":
        if item_id is None:
            raise missing_parameter(f"{where}.id")
        if item.get("summary") is None:
            raise missing_parameter(f"{where}.summary")
        return item
    # item_reference: the item must have been stored by a store=true response.
    if item_id is None:
        raise missing_parameter(f"{where}.id")
    stored = store.find_item(item_id)
    if stored is None:
        raise item_not_persisted(item_id)
    return dict(stored)


def _normalize_message(where: str, item: dict[str, Any]) -> dict[str, Any]:
    role = item.get("role")
    if role is None:
        raise missing_parameter(f"{where}.role")
    if role not in _ROLES:
        raise invalid_value(
            f"{where}.role",
            f"Invalid value: '{role}'. Supported values are: 'assistant', 'system', 'developer', and 'user'.",
        )
    content = item.get("content")
    if content is None:
        raise missing_parameter(f"{where}.content")
    if isinstance(content, str):
        part_type = "output_text" if role == "assistant" else "input_text"
        content = [{"type": part_type, "text": content}]
    elif not isinstance(content, list):
        raise invalid_type(f"{where}.content", "one of a string or array of input content", content)
    return {**item, "content": content}


def message_text(item: dict[str, Any]) -> str:
    """The plain text of a message item (input or output), parts joined by newlines."""
    texts = []
    for part in item.get("content") or []:
        if isinstance(part, dict):
            text = part.get("text") if part.get("type") != "refusal" else part.get("refusal")
            if isinstance(text, str):
                texts.append(text)
    return "\n".join(texts)


def check_conversation(
    conversation: list[dict[str, Any]],
    first_new: int,
    store: ResponseStore,
    reasoning_of: dict[str, str],
) -> None:
    """Raise the real API's error for the first inconsistency; `first_new` = where the input starts.

    `reasoning_of` maps output item ids to the id of the reasoning item generated just before them.
    """
    seen_ids: set[str] = set()
    calls: dict[str, bool] = {}  # call_id -> has an output
    for position, item in enumerate(conversation):
        kind = item["type"]
        item_id = item.get("id")
        new = position >= first_new
        if kind == "reasoning" and new:
            _check_reasoning(item, conversation[position + 1] if position + 1 < len(conversation) else None, store)
        if kind in ("message", "function_call") and new and item_id in reasoning_of:
            needed = reasoning_of[item_id]
            if needed not in seen_ids:
                raise bad_request(
                    f"Item '{item_id}' of type '{kind}' was provided without its required "
                    f"'reasoning' item: '{needed}'.",
                    param="input",
                )
        if kind == "function_call":
            calls[item["call_id"]] = False
        elif kind == "function_call_output":
            if item["call_id"] not in calls:
                raise bad_request(
                    f"No tool call found for function call output with call_id {item['call_id']}.",
                    param="input",
                )
            calls[item["call_id"]] = True
        if isinstance(item_id, str):
            seen_ids.add(item_id)
    for call_id, answered in calls.items():
        if not answered:
            raise bad_request(f"No tool output found for function call {call_id}.", param="input")


def _check_reasoning(item: dict[str, Any], following: dict[str, Any] | None, store: ResponseStore) -> None:
    item_id = item["id"]
    token = item.get("encrypted_content")
    if token is None:
        stored = store.find_item(item_id)
        if stored is None:
            raise item_not_persisted(item_id)
        token = stored.get("encrypted_content")
    payload = unseal(token)
    if payload is None or payload.get("id") != item_id:
        raise ApiError(
            400,
            f"The encrypted content for item {item_id} could not be verified. "
            "Reason: Encrypted content could not be decrypted or parsed.",
            code="invalid_encrypted_content",
        )
    followers = payload.get("followers") or []
    if following is None or (followers and following.get("id") not in followers):
        raise bad_request(
            f"Item '{item_id}' of type 'reasoning' was provided without its required following item.",
            param="input",
        )
