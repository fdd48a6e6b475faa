"""What a model decided to say in one turn, before it gets ids and becomes wire JSON.

Both the scripted turns and the demo model produce a `ModelTurn`; the core gives its items ids and
`wire` renders them. Keeping this step id-free keeps the model logic pure and easy to test.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PlannedText:
    text: str


@dataclass(frozen=True)
class PlannedRefusal:
    refusal: str


@dataclass(frozen=True)
class PlannedCall:
    name: str
    arguments: str  # the raw JSON string the model emitted, possibly malformed on purpose
    call_id: str | None = None


PlannedItem = PlannedText | PlannedRefusal | PlannedCall


@dataclass
class ModelTurn:
    items: list[PlannedItem] = field(default_factory=list)
    # Text of the reasoning summary; None = no reasoning item this turn. Empty string = a reasoning
    # item with no summary text (what reasoning models send when no summary was requested).
    reasoning: str | None = ""
    source: str = "demo-model"
