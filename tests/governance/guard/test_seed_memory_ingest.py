"""Seed page, "Future memory ingest": best effort, short timeout, versioned events."""

from __future__ import annotations

import time

from tests.governance.guard.conftest import user


def test_memory_events_carry_idempotency_metadata(make_guard, fake_bighub, bighub_client):
    make_guard(bighub_client=bighub_client, policies=None, memory_source="openai_adapter").run(
        messages=user("Refund ord_1 for 5 and look up ord_2"), model="gpt-4.1")
    (ingest,) = fake_bighub.bodies("/actions/memory/ingest")
    assert ingest["source"] == "openai_adapter"
    assert [(e["tool"], e["seq"], e["schema_version"]) for e in ingest["events"]] == [
        ("refund_payment", 0, 1), ("lookup_order", 1, 1)]
    assert all(e["event_id"].startswith("evt_") and e["source_version"].startswith("governance-dashboard@")
               for e in ingest["events"])


def test_memory_disabled_sends_nothing(make_guard, fake_bighub, bighub_client):
    make_guard(bighub_client=bighub_client, policies=None, memory_enabled=False).run(
        messages=user("Look up ord_2"), model="gpt-4.1")
    assert fake_bighub.bodies("/actions/memory/ingest") == []


def test_slow_memory_ingest_does_not_hold_the_run(make_guard, fake_bighub, bighub_client):
    fake_bighub.ingest_delay_seconds = 1.0
    guard = make_guard(bighub_client=bighub_client, policies=None, memory_ingest_timeout_ms=300)
    started = time.monotonic()
    result = guard.run(messages=user("Look up ord_2"), model="gpt-4.1")
    assert result["execution"]["status"] == "completed"
    assert time.monotonic() - started < 0.9
    time.sleep(1.0)  # let the abandoned ingest finish before the client is closed


def test_failing_memory_ingest_is_swallowed(make_guard, fake_bighub, bighub_client):
    fake_bighub.ingest_status = 500
    result = make_guard(bighub_client=bighub_client, policies=None).run(messages=user("Look up ord_2"), model="gpt-4.1")
    assert result["execution"]["last"]["status"] == "executed"
