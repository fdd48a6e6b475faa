"""The OpenAI side failing, seen from a run: through runs.worker, the real runner and policy engine,
and the emulator behind the client `governance.assembly.openai_client()` hands out.

Transient failures (429 rate limits, timeouts, dropped connections) within
GOVERNANCE_PROVIDER_MAX_RETRIES are retried and the run completes; a provider that keeps failing
ends the run `failed` with a reason naming the provider's error, on the run page. The `emulator`
fixture (tests/runs/conftest.py) allows GOVERNANCE_PROVIDER_MAX_RETRIES = 2.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from approvals import services as approvals
from approvals.models import ApprovalRequest
from governance.emulator import Fault, ResponsesEmulator
from runs import worker
from runs.models import RunStatus, ToolExecution
from tests.factories import start_run_now
from tests.support import demo_tools

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _demo(demo_tools_registered):
    pass


def _statuses(emulator: ResponsesEmulator) -> list[int]:
    return [exchange.status for exchange in emulator.exchanges]


def _page(client, user, run) -> str:
    client.force_login(user)
    response = client.get(reverse("runs:detail", args=[run.pk]))
    assert response.status_code == 200
    return response.content.decode()


TRANSIENT = [
    pytest.param(Fault.rate_limit(retry_after=0), "RateLimitError: Error code: 429", id="429-rate-limit"),
    pytest.param(Fault.timeout(), "APITimeoutError: Request timed out.", id="timeout"),
    pytest.param(Fault.connection_error(), "APIConnectionError: Connection error.", id="connection-error"),
]


@pytest.mark.parametrize(("fault", "_reason"), TRANSIENT)
def test_transient_failures_within_the_retries_are_retried_and_the_run_completes(
        client, operator, emulator, fault, _reason):
    emulator.inject(fault, times=2)
    run = start_run_now(operator, "Look up order ord_100", tools=("lookup_order",))
    assert run.status == RunStatus.COMPLETED
    assert "ord_100" in run.final_text
    assert len(emulator.requests) == 4  # two failed attempts, then the tool turn and the answer turn
    assert demo_tools.EXECUTIONS == [{"tool": "lookup_order", "order_id": "ord_100"}]
    assert run.error == ""
    assert "status-completed" in _page(client, operator, run)


def test_rate_limit_after_an_approval_is_retried_and_the_tool_runs_once(operator, reviewer, emulator):
    run = start_run_now(operator, "Refund order ord_7 for 250", tools=("refund_payment",))
    assert run.status == RunStatus.AWAITING_APPROVAL
    emulator.inject(Fault.rate_limit(retry_after=0), times=2)
    approval = ApprovalRequest.objects.get(run=run)
    approvals.resolve_approval(approval_id=approval.pk, reviewer=reviewer, resolution="approved")
    worker.resume_run(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert "re_ord_7" in run.final_text
    assert demo_tools.EXECUTIONS == [{"tool": "refund_payment", "order_id": "ord_7", "amount": 250.0}]
    assert _statuses(emulator).count(429) == 2


@pytest.mark.parametrize(("fault", "reason"), TRANSIENT)
def test_a_provider_that_keeps_failing_fails_the_run_with_its_error_on_the_page(
        client, operator, emulator, fault, reason):
    emulator.inject(fault, times=3)  # the first try and both retries
    run = start_run_now(operator, "Look up order ord_100", tools=("lookup_order",))
    assert run.status == RunStatus.FAILED
    assert run.error.startswith(f"model call failed: {reason}")
    assert len(emulator.exchanges) == 3  # gave up after the retries, sent nothing more
    assert demo_tools.EXECUTIONS == []
    assert run.events.order_by("seq").last().payload == {"status": "failed", "detail": run.error}
    page = _page(client, operator, run)
    assert "status-failed" in page
    assert f'<div class="error">model call failed: {reason}' in page


def test_rate_limit_message_from_the_provider_is_shown(client, operator, emulator):
    emulator.inject(Fault.rate_limit(retry_after=0), times=3)
    run = start_run_now(operator, "Look up order ord_100", tools=("lookup_order",))
    assert "Rate limit reached for gpt-4.1 in organization org-emulator" in _page(client, operator, run)


def test_provider_failing_after_a_tool_ran_fails_the_run_without_running_it_again(
        client, operator, reviewer, emulator):
    run = start_run_now(operator, "Refund order ord_7 for 250", tools=("refund_payment",))
    emulator.inject(Fault.rate_limit(retry_after=0), times=3)
    approval = ApprovalRequest.objects.get(run=run)
    approvals.resolve_approval(approval_id=approval.pk, reviewer=reviewer, resolution="approved")
    worker.resume_run(run_id=run.pk)
    worker.resume_run(run_id=run.pk)  # a redelivered resume finds nothing to do
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error.startswith("model call failed: RateLimitError: Error code: 429")
    assert demo_tools.EXECUTIONS == [{"tool": "refund_payment", "order_id": "ord_7", "amount": 250.0}]
    assert ToolExecution.objects.filter(run=run, status="succeeded").count() == 1
    assert "model call failed: RateLimitError" in _page(client, operator, run)


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        pytest.param(Fault.server_error(), "InternalServerError: Error code: 500", id="500"),
        pytest.param(Fault.overloaded(), "InternalServerError: Error code: 503", id="503-overloaded"),
        pytest.param(Fault.unauthorized(), "AuthenticationError: Error code: 401", id="401"),
    ],
)
def test_errors_the_runner_does_not_retry_fail_the_run_at_once(client, operator, emulator, fault, reason):
    """The runner keeps the published adapter's contract: only connection errors, timeouts and 429s are
    transient (tests/governance/guard/test_seed_resilience.py). A 500 or 503 is NOT retried: one fails the run."""
    emulator.inject(fault, times=1)
    run = start_run_now(operator, "Look up order ord_100", tools=("lookup_order",))
    assert run.status == RunStatus.FAILED
    assert len(emulator.exchanges) == 1
    assert run.error.startswith(f"model call failed: {reason}")
    assert f'<div class="error">model call failed: {reason}' in _page(client, operator, run)


def test_stream_cut_mid_answer_fails_the_run_with_its_error(client, operator, emulator):
    emulator.inject(Fault.stream_disconnect(after_events=3))
    run = start_run_now(operator, "Look up order ord_100", tools=("lookup_order",))
    assert run.status == RunStatus.FAILED
    assert run.error.startswith("model call failed: APIConnectionError")
    assert "model call failed: APIConnectionError" in _page(client, operator, run)
