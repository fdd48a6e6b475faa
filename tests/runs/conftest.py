"""Fixtures for run tests: a fresh emulator behind the OpenAI client the runs use."""

from __future__ import annotations

import pytest

from governance import services as governance_services
from governance.emulator import ResponsesEmulator, make_openai_client


@pytest.fixture
def emulator(monkeypatch, settings) -> ResponsesEmulator:
    """A fresh emulator behind the process's OpenAI client, so queued faults never leak to other tests."""
    settings.GOVERNANCE_PROVIDER_MAX_RETRIES = 2
    emulator = ResponsesEmulator()
    client = make_openai_client(emulator)
    monkeypatch.setattr(governance_services, "_openai_client", client)
    assert governance_services.openai_client() is client
    return emulator
