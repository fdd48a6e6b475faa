"""Schemathesis fuzzes the API from its own OpenAPI document (bounded and derandomized, so CI runs the same
examples each time): no answer is a server error or strays from the document, and a refused request
(4xx) changes nothing but the audit record of the refusal.

The requests carry an approver key (whose user, alice, is a reviewer), so the approvals endpoints reach
their deciding code: a request raised by another key of the same actor waits for a reviewer, and the
documented example of `request_id` ("1") is replaced by its id. Long-polls are cut to 50 ms here."""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.agents.support import api_state
from tests.factories import make_agent_key, make_user

# Loaded when the module is collected (schemathesis's fixture-based loader does not run on pytest 9).
# Valid and invalid requests (generation mode "all") from the fuzzing phase, bounded by max_examples;
# not the coverage phase, which enumerates every boundary of every field and took about 6 s per operation.
schema = schemathesis.openapi.from_wsgi(
    "/bighub/openapi.json", get_wsgi_application(),
    config=schemathesis.config.SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}}),
)


@pytest.fixture
def requests_share_the_tests_connection():
    """Requests go to the app in this process, inside the test's transaction: as Django's test client
    does, they must not close the connection they share with the test."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def approver(agent, settings, post):
    """(key, secret, the id of the request waiting for a reviewer) of an approver key acting for alice, a reviewer."""
    settings.GOVERNANCE_API_MAX_WAIT_SECONDS = 0.05
    waiting = post("/actions/evaluate", {"action": "refund_payment", "value": 250}, agent[1]).json()["request_id"]
    return (*make_agent_key("ops-bot", role="approver", user=make_user("alice", reviewer=True)), waiting)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_answers_every_generated_request_without_error_and_refusals_change_nothing(
    case, approver, requests_share_the_tests_connection,
):
    _within_the_keys_scope(case.body)
    if (case.path_parameters or {}).get("request_id") == "1":  # the documented example: the waiting request
        case.path_parameters["request_id"] = approver[2]
    before = api_state()
    response = case.call_and_validate(
        headers={"X-API-Key": approver[1]},
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
    if 400 <= response.status_code < 500:
        assert api_state() == before, f"{response.status_code} {response.text}"


def _within_the_keys_scope(body) -> None:
    """Generated actors and domains are random strings, so nearly every request would stop at the 403 for
    another actor; the ones that are strings become the key's own, so requests reach the deciding code
    (tests/agents/test_api.py covers the 403s)."""
    items = [body] if isinstance(body, dict) else []
    for item in list(items):
        for nested in ("actions", "events"):
            if isinstance(item.get(nested), list):
                items.extend(entry for entry in item[nested] if isinstance(entry, dict))
    for item in items:
        if isinstance(item.get("actor"), str):
            item["actor"] = "AI_AGENT_001"
        if isinstance(item.get("domain"), str):
            item["domain"] = "customer_transactions"
