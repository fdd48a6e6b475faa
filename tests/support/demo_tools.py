"""The demo tools as the tests register them: the product's `governance.demo_tools`, each call recorded.

The tests register tools by paths under this module (`tests.support.demo_tools.refund_payment`;
tests/conftest.py adds it to GOVERNANCE_TOOL_MODULE_PREFIXES), so they can count what ran: in this
process (`EXECUTIONS`, cleared by the `demo_tools_registered` fixture), and across worker processes
when TEST_TOOL_LOG names a file (one JSON line per call, appended when the call starts).
TEST_TOOL_SECONDS makes every call take that long, so a test can kill a worker in the middle of one.
Signatures and docstrings are the demo tools' own, so the generated schemas are the same.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from governance import demo_tools

LOG_ENV, SECONDS_ENV = "TEST_TOOL_LOG", "TEST_TOOL_SECONDS"

_lock = threading.Lock()
EXECUTIONS: list[dict[str, Any]] = []


def _record(tool: str, arguments: dict[str, Any]) -> None:
    entry = {"tool": tool, **arguments}
    with _lock:
        EXECUTIONS.append(entry)
    log = os.environ.get(LOG_ENV)
    if log:
        with open(log, "a") as file:  # one short write per line: appends from processes do not interleave
            file.write(json.dumps({**entry, "pid": os.getpid()}) + "\n")
    delay = float(os.environ.get(SECONDS_ENV) or 0)
    if delay:
        time.sleep(delay)


def _recorded(tool: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(tool)

    @functools.wraps(tool)
    def call(*args: Any, **kwargs: Any) -> Any:
        _record(tool.__name__, dict(signature.bind(*args, **kwargs).arguments))
        return tool(*args, **kwargs)

    # The registry accepts only callables defined under the allowed prefixes: this one is defined here.
    call.__module__ = __name__
    return call


refund_payment = _recorded(demo_tools.refund_payment)
lookup_order = _recorded(demo_tools.lookup_order)
delete_customer = _recorded(demo_tools.delete_customer)


def process_env(*, log: str, seconds: float = 0) -> dict[str, str]:
    """Environment for server processes (a production stack) that should run these tools: the module
    allowed for registration, the shared call log, and how long each call takes."""
    return {"GOVERNANCE_TOOL_MODULE_PREFIXES": f"{demo_tools.__name__},{__name__}", LOG_ENV: log,
            SECONDS_ENV: str(seconds)}
