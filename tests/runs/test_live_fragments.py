"""Renders shared between sockets: one serves a socket only if it started after that socket's nudge."""

from __future__ import annotations

import asyncio
import time

from runs.live_fragments import SharedRenders


async def test_render_started_after_the_nudge_is_shared():
    shared, calls = SharedRenders(), []

    async def render() -> str:
        calls.append(1)
        await asyncio.sleep(0)
        return f"render {len(calls)}"

    nudged = time.monotonic()
    first, second = await asyncio.gather(shared.get("viewer", nudged, render), shared.get("viewer", nudged, render))
    assert (first, second, len(calls)) == ("render 1", "render 1", 1)


async def test_render_started_before_the_nudge_is_not_reused():
    """It may have read the database before the change the nudge announces: a new render is made."""
    shared, calls = SharedRenders(), []

    async def render() -> str:
        calls.append(1)
        return f"render {len(calls)}"

    assert await shared.get("viewer", time.monotonic(), render) == "render 1"
    assert await shared.get("viewer", time.monotonic(), render) == "render 2"
    assert await shared.get("other viewer", 0.0, render) == "render 3"


async def test_failed_render_is_not_served_again():
    shared, calls = SharedRenders(), []

    async def render() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return "render 2"

    nudged = time.monotonic()
    try:
        await shared.get("viewer", nudged, render)
    except RuntimeError:
        pass
    assert await shared.get("viewer", nudged, render) == "render 2"
