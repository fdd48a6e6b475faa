"""The scripted DEMO model: a deterministic keyword matcher that speaks like a tool-calling model.

It is labelled as what it is: responses it writes carry `metadata["emulator"] == "demo-model"`, and
`DEMO_MODEL_LABEL` is the human-readable name for UIs. The `model` field echoes the requested model.

Behaviour for one turn, given the conversation so far and the request's function tools:

- Latest item is a user message: the message is split into clauses ("Refund ord_1 for 50 and look
  up ord_2" -> two clauses). In each clause the tool whose name or description words best match the
  clause's words is picked (verb families: "look up"/"lookup"/"status"/"check" ~ lookup_*,
  "remove"/"delete" ~ delete_*, ...); a clause with ids but no verb reuses the previous clause's tool
  ("refund ord_1 and ord_2"). Arguments are filled from the words per the tool's JSON schema (see
  `demo_args`). Several matches -> several function_call items in one turn (one if
  `parallel_tool_calls` is false). `tool_choice` is honoured ("none", "required", a named function).
  A tool whose required argument is nowhere in the conversation is not called; the model asks.
- Latest items are `function_call_output`s: a plain-language answer from the outputs:
  "refund_payment returned {...}." (of `{"status": "executed", "output": {...}}`, the output) or, when
  the output's status is denied/blocked/expired/error, "refund_payment (order_id=ord_7, amount=250)
  was not done: it was denied (reason)."
- Nothing matches: a plain-text answer naming the tools it has.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .conversation import message_text
from .demo_args import Sources, fill_object, identifiers
from .demo_words import clauses, family, name_words, stem, stems
from .plan import ModelTurn, PlannedCall, PlannedItem, PlannedText

DEMO_MODEL_LABEL = "demo model (offline emulator)"
DEMO_METADATA = {"emulator": "demo-model"}

_NOT_DONE = frozenset({"denied", "blocked", "rejected", "expired", "error", "failed", "cancelled", "refused"})
_MIN_SCORE = 3


class DemoModel:
    def respond(self, request: dict[str, Any], conversation: list[dict[str, Any]]) -> ModelTurn:
        tools = [tool for tool in request.get("tools") or [] if tool.get("type") == "function"]
        last = conversation[-1] if conversation else None
        if last is not None and last["type"] == "function_call_output":
            text = _answer_outputs(conversation)
            return ModelTurn(items=[PlannedText(text)], reasoning="Summarising the tool results for the user.")
        user_texts = [
            message_text(item) for item in conversation if item["type"] == "message" and item.get("role") == "user"
        ]
        if last is None or last["type"] != "message" or last.get("role") != "user" or not user_texts:
            return ModelTurn(
                items=[PlannedText("Is there anything else I can help you with?")],
                reasoning="No new user request to act on.",
            )
        message, history = user_texts[-1], list(reversed(user_texts[:-1]))
        return _plan_for_message(request, tools, message, history)


# --- acting on a user message -----------------------------------------------------------------


def _plan_for_message(
    request: dict[str, Any], tools: list[dict[str, Any]], message: str, history: list[str]
) -> ModelTurn:
    choice = request.get("tool_choice", "auto")
    if choice == "none" or not tools:
        return _text_turn(request, message, _no_tool_reply(tools, message, forbidden=choice == "none" and bool(tools)))
    tool_names = frozenset(tool["name"] for tool in tools)
    if isinstance(choice, dict) and choice.get("type") == "function":
        forced = next(tool for tool in tools if tool["name"] == choice["name"])
        selections = [(forced, message)]
    else:
        selections = _select(tools, message)
        if not selections and choice == "required":
            selections = [(_best_overall(tools, message), message)]
    calls: list[PlannedCall] = []
    asks: list[str] = []
    notes: list[str] = []
    forced_call = choice == "required" or isinstance(choice, dict)
    for tool, clause in selections:
        sources = Sources(clause=clause, message=message, history=history, tool_names=tool_names)
        strict = tool.get("strict") is True
        arguments, missing = fill_object(tool.get("parameters") or {}, sources, strict=strict, complete=forced_call)
        if missing:
            asks.append(f"To use {tool['name']} I need {_and_list(missing)}. Could you tell me?")
            continue
        call = PlannedCall(tool["name"], json.dumps(arguments))
        if all(existing != call for existing in calls):
            calls.append(call)
            notes.append(f"{tool['name']}({_describe(arguments)})")
    if request.get("parallel_tool_calls") is False:
        calls, notes = calls[:1], notes[:1]
    if calls:
        items: list[PlannedItem] = list(calls)
        return ModelTurn(items=items, reasoning=f"The user asked: {message!r}. Calling {'; '.join(notes)}.")
    if asks:
        return _text_turn(request, message, " ".join(asks))
    return _text_turn(request, message, _no_tool_reply(tools, message, forbidden=False))


def _select(tools: list[dict[str, Any]], message: str) -> list[tuple[dict[str, Any], str]]:
    selections: list[tuple[dict[str, Any], str]] = []
    previous: dict[str, Any] | None = None
    for clause in clauses(message):
        scored = [(_score(tool, clause), n, tool) for n, tool in enumerate(tools)]
        best_score, _, best = max(scored, key=lambda entry: (entry[0], -entry[1]))
        if best_score >= _MIN_SCORE:
            selections.append((best, clause))
            previous = best
        elif previous is not None and identifiers(clause):
            selections.append((previous, clause))
    return selections


def _tool_words(tool: dict[str, Any]) -> tuple[list[str], set[str]]:
    names = [stem(word) for word in name_words(tool["name"])]
    description = str(tool.get("description") or "").split("Args:")[0]
    return names, set(stems(description))


def _score(tool: dict[str, Any], clause: str) -> int:
    names, described = _tool_words(tool)
    verb = names[0] if names else ""
    score = 10 if re.search(rf"\b{re.escape(tool['name'])}\b", clause) else 0  # named outright
    for word in set(stems(clause)):
        if word == verb:
            score += 4
        elif family(word) is not None and family(word) == family(verb):
            score += 3
        elif word in names:
            score += 2
        elif word in described:
            score += 1
    return score


def _best_overall(tools: list[dict[str, Any]], message: str) -> dict[str, Any]:
    return max(enumerate(tools), key=lambda entry: (_score(entry[1], message), -entry[0]))[1]


def _text_turn(request: dict[str, Any], message: str, text: str) -> ModelTurn:
    fmt = (request.get("text") or {}).get("format") or {}
    if fmt.get("type") == "json_schema":
        sources = Sources(clause=message, message=message)
        value, _ = fill_object(fmt.get("schema") or {}, sources, strict=fmt.get("strict") is True, complete=True)
        text = json.dumps(value)
    elif fmt.get("type") == "json_object":
        text = json.dumps({"answer": text})
    return ModelTurn(items=[PlannedText(text)], reasoning=f"The user asked: {message!r}. Answering in text.")


def _no_tool_reply(tools: list[dict[str, Any]], message: str, *, forbidden: bool) -> str:
    if forbidden:
        return "I can't use my tools for this request, so I haven't taken any action."
    if not tools:
        return f"I have no tools available here, so I can only reply in text. You asked: {message.strip()}"
    names = _and_list([tool["name"] for tool in tools])
    return f"I couldn't match that to any of my tools ({names}). Tell me which action to take and the ids involved."


# --- answering from tool outputs --------------------------------------------------------------


def _answer_outputs(conversation: list[dict[str, Any]]) -> str:
    calls = {item["call_id"]: item for item in conversation if item["type"] == "function_call"}
    start = (
        max(
            (i for i, item in enumerate(conversation) if item["type"] == "message" and item.get("role") == "user"),
            default=-1,
        )
        + 1
    )
    outputs = [item for item in conversation[start:] if item["type"] == "function_call_output"]
    sentences = [_sentence(calls.get(item["call_id"]), item["output"]) for item in outputs]
    return " ".join(sentences)


def _sentence(call: dict[str, Any] | None, output: Any) -> str:
    name = call["name"] if call else "the tool"
    try:
        arguments = json.loads(call["arguments"]) if call else {}
    except (TypeError, ValueError):
        arguments = {}
    what = f"{name} ({_describe(arguments)})" if isinstance(arguments, dict) and arguments else name
    if isinstance(output, list):  # content parts
        output = " ".join(str(part.get("text", "")) for part in output if isinstance(part, dict))
    try:
        parsed = json.loads(output)
    except (TypeError, ValueError):
        parsed = output
    if isinstance(parsed, dict) and str(parsed.get("status", "")).lower() == "executed" and "output" in parsed:
        parsed = parsed["output"]  # the governed runner's shape for a call that ran: its status, then the output
    if isinstance(parsed, dict):
        status = str(parsed.get("status", "")).lower()
        reason = parsed.get("reason") or parsed.get("error") or parsed.get("message")
        if status in _NOT_DONE:
            return f"{what} was not done: it was {status}" + (f" ({reason})." if reason else ".")
        if parsed.get("error"):
            return f"{what} failed: {parsed['error']}."
        return f"{name} returned {_short(json.dumps(parsed))}."
    return f"{name} returned {_short(str(parsed))}."


# --- small helpers ----------------------------------------------------------------------------


def _describe(arguments: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in arguments.items())


def _short(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _and_list(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]
