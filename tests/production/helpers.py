"""What the production tests do to a running stack: wait until something holds, start a run as a
browser would. The stack itself is `devtools.production.ProductionStack`."""

from __future__ import annotations

import time


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
