"""Script mode: tests dictate exactly what the model says, turn by turn.

    ResponsesEmulator(script=[
        ScriptedTurn(function_calls=[ScriptedCall("refund_payment", '{"order_id": "ord_1"')]),  # malformed
        ScriptedTurn(text="Done."),
    ])

Each `responses.create` that passes validation consumes the next turn; when the script runs out the
demo model answers. Arguments given as a string are sent verbatim (malformed JSON, unknown tool
names and huge payloads are the point); a dict is JSON-encoded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .plan import ModelTurn, PlannedCall, PlannedItem, PlannedRefusal, PlannedText


@dataclass(frozen=True)
class ScriptedCall:
    name: str
    arguments: str | Mapping[str, Any] = "{}"
    call_id: str | None = None

    def planned(self) -> PlannedCall:
        arguments = self.arguments if isinstance(self.arguments, str) else json.dumps(dict(self.arguments))
        return PlannedCall(name=self.name, arguments=arguments, call_id=self.call_id)


CallSpec = ScriptedCall | tuple[str, str | Mapping[str, Any]] | Mapping[str, Any]


def _as_call(spec: CallSpec) -> ScriptedCall:
    if isinstance(spec, ScriptedCall):
        return spec
    if isinstance(spec, tuple):
        name, arguments = spec
        return ScriptedCall(name, arguments)
    return ScriptedCall(spec["name"], spec.get("arguments", "{}"), spec.get("call_id"))


@dataclass
class ScriptedTurn:
    """One model turn: optional text or refusal, then function calls, in that output order.

    `reasoning`: None = the emulator's usual reasoning item (no summary), False = no reasoning
    item, a string = a reasoning item whose summary is that text.
    """

    text: str | None = None
    function_calls: Sequence[CallSpec] = field(default_factory=tuple)
    refusal: str | None = None
    reasoning: str | bool | None = None

    def to_turn(self, *, default_reasoning: bool) -> ModelTurn:
        items: list[PlannedItem] = []
        if self.text is not None:
            items.append(PlannedText(self.text))
        if self.refusal is not None:
            items.append(PlannedRefusal(self.refusal))
        items.extend(_as_call(spec).planned() for spec in self.function_calls)
        if self.reasoning is False:
            reasoning = None
        elif isinstance(self.reasoning, str):
            reasoning = self.reasoning
        else:
            reasoning = "" if default_reasoning else None
        return ModelTurn(items=items, reasoning=reasoning, source="script")
