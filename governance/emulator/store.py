"""Stored responses, with the real API's `store` semantics.

- `store` defaults to true (the product always sends it explicitly).
- store=true: the response is kept. `GET /v1/responses/{id}` returns it, its items can be referred
  to by id, and `previous_response_id` chains from it: the new turn sees the stored conversation
  (that response's context: earlier turns, its input items and its output items) before its input.
- store=false: nothing is kept. The id cannot be retrieved (404) and using it as
  `previous_response_id` is the real 400 `previous_response_not_found`; a client that stores nothing
  must replay its own items (with encrypted reasoning) every turn.

`MemoryResponseStore` is per process. `FileResponseStore` keeps records as JSON files in a directory,
so a run chained with store=true can be resumed by another worker process, as it can on OpenAI;
`default_store()` uses one when `GOVERNANCE_EMULATOR_STORE_DIR` is set.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from .errors import previous_response_not_found

STORE_DIR_ENV = "GOVERNANCE_EMULATOR_STORE_DIR"


@dataclass
class StoredResponse:
    response: dict[str, Any]  # the full response, reasoning encrypted_content included
    input_items: list[dict[str, Any]]  # this request's input items, each with an id
    context: list[dict[str, Any]]  # the conversation after this response: earlier turns + input + output

    def items_by_id(self) -> dict[str, dict[str, Any]]:
        return {item["id"]: item for item in self.context if isinstance(item.get("id"), str)}


class ResponseStore(Protocol):
    def put(self, record: StoredResponse) -> None: ...

    def get(self, response_id: str) -> StoredResponse | None: ...

    def delete(self, response_id: str) -> bool: ...

    def find_item(self, item_id: str) -> dict[str, Any] | None: ...


class MemoryResponseStore:
    def __init__(self) -> None:
        self._records: dict[str, StoredResponse] = {}
        self._items: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def put(self, record: StoredResponse) -> None:
        with self._lock:
            self._records[record.response["id"]] = record
            self._items.update(record.items_by_id())

    def get(self, response_id: str) -> StoredResponse | None:
        with self._lock:
            return self._records.get(response_id)

    def delete(self, response_id: str) -> bool:
        with self._lock:
            return self._records.pop(response_id, None) is not None

    def find_item(self, item_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._items.get(item_id)

    def __len__(self) -> int:
        return len(self._records)


_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


class FileResponseStore:
    """One JSON file per stored response; safe for several processes sharing the directory."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, response_id: str) -> Path | None:
        return self.directory / f"{response_id}.json" if _SAFE_ID.match(response_id) else None

    def put(self, record: StoredResponse) -> None:
        path = self._path(record.response["id"])
        if path is None:
            raise ValueError(f"unsafe response id {record.response['id']!r}")
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            json.dump(asdict(record), handle)
        os.replace(tmp, path)

    def get(self, response_id: str) -> StoredResponse | None:
        path = self._path(response_id)
        if path is None or not path.exists():
            return None
        return StoredResponse(**json.loads(path.read_text()))

    def delete(self, response_id: str) -> bool:
        path = self._path(response_id)
        if path is None or not path.exists():
            return False
        path.unlink(missing_ok=True)
        return True

    def find_item(self, item_id: str) -> dict[str, Any] | None:
        for path in sorted(self.directory.glob("resp_*.json")):
            record = StoredResponse(**json.loads(path.read_text()))
            item = record.items_by_id().get(item_id)
            if item is not None:
                return item
        return None


_default: ResponseStore | None = None
_default_lock = threading.Lock()


def default_store() -> ResponseStore:
    """The process-wide store shared by emulators built without one (like one OpenAI account)."""
    global _default
    with _default_lock:
        if _default is None:
            directory = os.environ.get(STORE_DIR_ENV)
            _default = FileResponseStore(directory) if directory else MemoryResponseStore()
        return _default


def prior_context(store: ResponseStore, previous_response_id: str | None) -> list[dict[str, Any]]:
    """The conversation a chained request continues, or the real 400 if it was never stored."""
    if not previous_response_id:
        return []
    record = store.get(previous_response_id)
    if record is None:
        raise previous_response_not_found(previous_response_id)
    return [dict(item) for item in record.context]
