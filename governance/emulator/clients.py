"""Real `openai.OpenAI` / `openai.AsyncOpenAI` clients whose HTTP goes to a `ResponsesEmulator`.

Nothing in the SDK is patched: the client gets an ordinary httpx2 (openai>=3) or httpx (openai 2.x)
client whose transport is the emulator, and parses every answer with its own types.
"""

from __future__ import annotations

from typing import Any

import openai

from .core import ResponsesEmulator
from .store import default_store
from .transport import async_transport, emulator_of, http_module, sync_transport

BASE_URL = "http://emulator.local/v1"
API_KEY = "sk-emulator-offline"


def _options(kw: dict[str, Any]) -> dict[str, Any]:
    if "http_client" in kw:
        raise TypeError("make_*openai_client builds its own http_client; pass an emulator instead")
    return {"api_key": API_KEY, "base_url": BASE_URL, "max_retries": 0, **kw}


def make_openai_client(emulator: ResponsesEmulator | None = None, **kw: Any) -> openai.OpenAI:
    """An `openai.OpenAI` answered by `emulator` (default: a new one on the process-wide store).

    `kw` goes to `openai.OpenAI` (`max_retries` defaults to 0, so a caller's own retry policy is
    what runs; `timeout`, `default_headers`... as usual).
    """
    emulator = emulator if emulator is not None else ResponsesEmulator(store=default_store())
    module = http_module()
    http_client = module.Client(transport=sync_transport(emulator, module), follow_redirects=True)
    return openai.OpenAI(http_client=http_client, **_options(kw))


def make_async_openai_client(emulator: ResponsesEmulator | None = None, **kw: Any) -> openai.AsyncOpenAI:
    """An `openai.AsyncOpenAI` answered by `emulator`; same options as `make_openai_client`."""
    emulator = emulator if emulator is not None else ResponsesEmulator(store=default_store())
    module = http_module()
    http_client = module.AsyncClient(transport=async_transport(emulator, module), follow_redirects=True)
    return openai.AsyncOpenAI(http_client=http_client, **_options(kw))


def client_emulator(client: openai.OpenAI | openai.AsyncOpenAI) -> ResponsesEmulator | None:
    """The emulator behind a client built here (None for a client that talks to OpenAI)."""
    http_client = getattr(client, "_client", None)
    return emulator_of(getattr(http_client, "_transport", None))
