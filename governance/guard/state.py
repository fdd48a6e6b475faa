"""The guarded run's state after every step, as a plain JSON-serialisable value.

`RunState` holds everything needed to continue a run in another process: the conversation items
to replay (store=false) or the id to chain from (store=true), the execution events so far, the
calls waiting for a reviewer, and the final response once there is one. `to_dict()` gives JSON;
`from_dict()` takes it back. Nothing here performs I/O.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

# Where the runner stands, in the published adapter's words (the dashboard maps them to its own once,
# in runs.models.RunStatus.for_runner).
StateStatus = Literal["running", "approval_required", "completed", "failed"]

STATE_SCHEMA_VERSION = 1


@dataclass
class PendingApproval:
    """A tool call that policy paused until a reviewer resolves it."""

    call_id: str
    tool: str
    arguments: dict[str, Any]
    decision: dict[str, Any]
    event_id: str

    @property
    def request_id(self) -> str | None:
        return self.decision.get("request_id")


@dataclass
class RunState:
    trace_id: str
    model: str
    store: bool
    create_args: dict[str, Any] = field(default_factory=dict)
    # The whole conversation so far, in the Responses API's input-item format. With store=false it is
    # replayed in full every turn; with store=true only `next_input` is sent, chained by id.
    items: list[dict[str, Any]] = field(default_factory=list)
    next_input: list[dict[str, Any]] = field(default_factory=list)
    previous_response_id: str | None = None
    rounds: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    pending: list[PendingApproval] = field(default_factory=list)
    status: StateStatus = "running"
    last_response: dict[str, Any] | None = None
    error: str | None = None
    source_version: str = ""
    schema_version: int = STATE_SCHEMA_VERSION

    @classmethod
    def start(
        cls,
        *,
        messages: list[dict[str, Any]],
        model: str,
        store: bool,
        create_args: dict[str, Any],
        source_version: str = "",
    ) -> RunState:
        items = copy.deepcopy(list(messages))
        return cls(
            trace_id=str(uuid.uuid4()),
            model=model,
            store=store,
            create_args=dict(create_args),
            items=items,
            next_input=copy.deepcopy(items),
            source_version=source_version,
        )

    @property
    def next_seq(self) -> int:
        return len(self.events)

    def find_pending(self, key: str) -> PendingApproval:
        """The pending call whose call id, request id or event id is `key`."""
        for item in self.pending:
            if key in (item.call_id, item.request_id, item.event_id):
                return item
        known = ", ".join(p.call_id for p in self.pending) or "none"
        raise KeyError(f"no pending approval {key!r} in run {self.trace_id} (pending call ids: {known})")

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunState:
        data = copy.deepcopy(data)
        version = data.get("schema_version", STATE_SCHEMA_VERSION)
        if version != STATE_SCHEMA_VERSION:
            raise ValueError(f"run state schema_version {version} is not supported (expected {STATE_SCHEMA_VERSION})")
        data["pending"] = [PendingApproval(**p) for p in data.get("pending", [])]
        return cls(**data)
