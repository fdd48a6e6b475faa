"""Offline Responses API emulator: the real `openai` SDK, answered in-process by a demo model.

    from governance.emulator import ResponsesEmulator, ScriptedTurn, ScriptedCall, Fault, make_openai_client

    emulator = ResponsesEmulator()
    client = make_openai_client(emulator)               # a real openai.OpenAI
    client.responses.create(model="gpt-4.1", input="Refund ord_1 for 50", tools=[...], store=False)
    emulator.inject(Fault.rate_limit(), times=2)        # the next two requests get 429
    emulator.requests                                    # the JSON bodies the client sent

Layout: `core` (routing, the create pipeline), `transport` (httpx2/httpx adapters), `clients`
(SDK client factories), `wire` (JSON and SSE formats), `store` (store=true/false semantics),
`conversation` (input item checks), `validation` (request checks), `faults`, `script`,
`demo_model` (+ `demo_words`, `demo_args`), `plan`, `sealed` (encrypted reasoning), `ids`, `errors`.
"""

from .clients import API_KEY, BASE_URL, client_emulator, make_async_openai_client, make_openai_client
from .core import Exchange, Reply, ResponsesEmulator, TransportFailure
from .demo_model import DEMO_MODEL_LABEL, DemoModel
from .errors import ApiError
from .faults import Fault
from .script import ScriptedCall, ScriptedTurn
from .store import FileResponseStore, MemoryResponseStore, ResponseStore, StoredResponse, default_store

__all__ = [
    "API_KEY",
    "BASE_URL",
    "DEMO_MODEL_LABEL",
    "ApiError",
    "DemoModel",
    "Exchange",
    "Fault",
    "FileResponseStore",
    "MemoryResponseStore",
    "Reply",
    "ResponseStore",
    "ResponsesEmulator",
    "ScriptedCall",
    "ScriptedTurn",
    "StoredResponse",
    "TransportFailure",
    "client_emulator",
    "default_store",
    "make_async_openai_client",
    "make_openai_client",
]
