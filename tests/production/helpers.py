"""What the production tests do to a stack: start one whose tool calls are recorded, wait until
something holds, start a run as a browser would. The stack itself is `devtools.production.ProductionStack`."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support import demo_tools

RECORDED_TOOLS = ("UPDATE governance_toolregistration SET callable_path = "
                  "replace(callable_path, 'governance.demo_tools.', 'tests.support.demo_tools.')")


def stack_recording_tool_calls(make_stack, *, log: Path, seconds: float, **options):
    """A started stack whose demo tools run through tests.support.demo_tools: each call appends a
    JSON line to `log` (from whichever worker process ran it) and takes `seconds`."""
    stack = make_stack(extra_env=demo_tools.process_env(log=str(log), seconds=seconds), **options)
    stack.sql(RECORDED_TOOLS)  # before any run starts: workers read the registrations per run
    return stack


def wait_for(predicate, timeout: float, what: str):
    """Poll `predicate` every 0.2 s until it returns something true (returned), or fail the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def start_run(stack, client, prompt: str, tools: list[str]) -> str:
    """Post the start form as a browser would; the new run's id."""
    token = stack.csrf(client, "/runs/new/")
    response = client.post("/runs/new/", data={"prompt": prompt, "model": "gpt-4.1", "tools": tools,
                                               "csrfmiddlewaretoken": token})
    assert response.status_code == 200 and "/runs/" in str(response.url), response.text[:500]
    return str(response.url).rstrip("/").rsplit("/", 1)[-1]
