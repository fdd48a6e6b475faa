"""Injected faults reach the SDK as the exceptions real provider trouble would raise."""

from __future__ import annotations

import openai
import pytest

from governance.emulator import Fault, ResponsesEmulator, make_async_openai_client, make_openai_client


def _create(client, **kwargs):
    return client.responses.create(model="gpt-4.1", input="hello", store=False, **kwargs)


@pytest.mark.parametrize(
    ("fault", "exception", "status"),
    [
        (Fault.rate_limit(), openai.RateLimitError, 429),
        (Fault.quota_exceeded(), openai.RateLimitError, 429),
        (Fault.server_error(), openai.InternalServerError, 500),
        (Fault.overloaded(), openai.InternalServerError, 503),
        (Fault.bad_request("Invalid 'input'.", param="input"), openai.BadRequestError, 400),
        (Fault.unauthorized(), openai.AuthenticationError, 401),
        (Fault.http(403, "Forbidden."), openai.PermissionDeniedError, 403),
    ],
)
def test_http_fault_raises_matching_sdk_exception(client, emulator, fault, exception, status):
    emulator.inject(fault)

    with pytest.raises(exception) as caught:
        _create(client)

    assert caught.value.status_code == status
    assert set(caught.value.body) == {"message", "type", "param", "code"}
    assert caught.value.request_id.startswith("req_")


def test_rate_limit_body_and_retry_after_header_match_real_api(client, emulator):
    emulator.inject(Fault.rate_limit(retry_after=2))

    with pytest.raises(openai.RateLimitError) as caught:
        _create(client)

    error = caught.value
    assert error.code == "rate_limit_exceeded" and error.type == "tokens"
    assert error.response.headers["retry-after"] == "2"
    assert error.message.startswith("Error code: 429 - ")
    assert "Rate limit reached for gpt-4.1" in error.body["message"]


def test_quota_exceeded_is_429_with_insufficient_quota_code(client, emulator):
    emulator.inject(Fault.quota_exceeded())

    with pytest.raises(openai.RateLimitError) as caught:
        _create(client)

    assert caught.value.code == "insufficient_quota"


def test_fault_times_counts_requests_then_model_answers(emulator):
    sdk_client = make_openai_client(emulator, max_retries=2)
    emulator.inject(Fault.rate_limit(retry_after=0.01), times=2)

    response = _create(sdk_client)

    assert response.status == "completed"
    assert len(emulator.requests) == 3
    assert [exchange.status for exchange in emulator.exchanges] == [429, 429, 200]


def test_timeout_fault_raises_api_timeout_error(client, emulator):
    emulator.inject(Fault.timeout())

    with pytest.raises(openai.APITimeoutError):
        _create(client)


def test_latency_past_client_timeout_raises_api_timeout_error(emulator):
    sdk_client = make_openai_client(emulator, timeout=0.05)
    emulator.inject(Fault.latency(5.0))

    with pytest.raises(openai.APITimeoutError):
        _create(sdk_client)


def test_latency_within_timeout_still_answers(client, emulator):
    emulator.inject(Fault.latency(0.01))

    assert _create(client).status == "completed"


def test_connection_error_fault_raises_api_connection_error(client, emulator):
    emulator.inject(Fault.connection_error())

    with pytest.raises(openai.APIConnectionError) as caught:
        _create(client)

    assert not isinstance(caught.value, openai.APITimeoutError)


def test_stream_failure_ends_with_response_failed(client, emulator):
    emulator.inject(Fault.stream_failure(after_events=3))

    events = list(_create(client, stream=True))

    assert [event.type for event in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.output_item.done",
        "response.output_item.added",
        "response.failed",
    ]
    failed = events[-1].response
    assert failed.status == "failed"
    assert failed.error.code == "server_error"
    assert failed.error.message == "An error occurred while processing your request."
    assert failed.output[-1].type == "message" and failed.output[-1].status == "in_progress"


def test_stream_failure_makes_get_final_response_raise(client, emulator):
    emulator.inject(Fault.stream_failure())

    with client.responses.stream(model="gpt-4.1", input="hello", store=False) as stream:
        types = [event.type for event in stream]
        with pytest.raises(RuntimeError, match=r"response\.completed"):
            stream.get_final_response()

    assert types[-1] == "response.failed"


def test_stream_fault_waits_for_a_streaming_request(client, emulator):
    emulator.inject(Fault.stream_failure())

    assert _create(client).status == "completed"
    assert list(_create(client, stream=True))[-1].type == "response.failed"


def test_stream_disconnect_raises_api_connection_error_mid_stream(client, emulator):
    emulator.inject(Fault.stream_disconnect(after_events=4))
    received = []

    with pytest.raises(openai.APIConnectionError):
        for event in _create(client, stream=True):
            received.append(event.type)

    assert len(received) == 4


async def test_async_faults_map_to_the_same_exceptions():
    emulator = ResponsesEmulator()
    emulator.inject(Fault.rate_limit())
    emulator.inject(Fault.timeout())
    emulator.inject(Fault.connection_error())
    async with make_async_openai_client(emulator) as sdk_client:
        for exception in (openai.RateLimitError, openai.APITimeoutError, openai.APIConnectionError):
            with pytest.raises(exception):
                await sdk_client.responses.create(model="gpt-4.1", input="hi", store=False)
        response = await sdk_client.responses.create(model="gpt-4.1", input="hi", store=False)

    assert response.status == "completed"
    assert emulator.faults.pending() == []
