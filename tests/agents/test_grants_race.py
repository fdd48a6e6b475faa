"""Two threads of a remote agent send calls of one session while a reviewer revokes the grant that settles them,
on PostgreSQL: each call gets one answer, settled by the grant before the revocation or sent to review after it,
never both."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from agents import approval_hook
from approvals import grants
from approvals.models import ApprovalRequest, Grant, GrantUse
from tests.factories import make_agent_key, make_user, register_demo_tools
from tests.support.databases import skip_unless_concurrent_writers

pytestmark = pytest.mark.django_db(transaction=True)

CALLS_PER_THREAD = 5


def test_each_remote_call_is_settled_once_by_the_grant_or_by_review_while_it_is_revoked(monkeypatch):
    skip_unless_concurrent_writers()
    register_demo_tools()
    _key, secret = make_agent_key()
    rita, ray = make_user("rita", reviewer=True), make_user("ray", reviewer=True)

    def evaluate(client: Client) -> dict:
        body = {"action": "refund_payment", "value": 250, "context": {"session_id": "s-1"}}
        response = client.post("/bighub/actions/evaluate", json.dumps(body), content_type="application/json",
                               HTTP_X_API_KEY=secret)
        assert response.status_code == 200, response.content
        return response.json()

    evaluate(Client())
    grant = grants.resolve_with_grant(approval=ApprovalRequest.objects.select_related("run").get(),
                                      reviewer=rita, resolution="approved", scope="run")

    # Each thread's 2nd settlement lets the reviewer revoke; each thread's 4th call waits for the revocation.
    second_settled, revoked, counts = threading.Event(), threading.Event(), threading.local()
    real_settle = approval_hook.settle_by_grant

    def settle(**call):
        counts.n = getattr(counts, "n", 0) + 1
        if counts.n == 4:
            assert revoked.wait(20)
        settled = real_settle(**call)
        if counts.n == 2:
            second_settled.set()
        return settled

    monkeypatch.setattr(approval_hook, "settle_by_grant", settle)
    answers: list[dict] = []
    errors: list[BaseException] = []

    def agent_thread() -> None:
        try:
            client = Client()
            for _ in range(CALLS_PER_THREAD):
                answers.append(evaluate(client))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def reviewer_thread() -> None:
        try:
            assert second_settled.wait(20)
            assert grants.revoke_grant(grant_id=grant.pk, by=ray) is not None
            revoked.set()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=agent_thread) for _ in range(2)] + [threading.Thread(target=reviewer_thread)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []

    assert len(answers) == 2 * CALLS_PER_THREAD
    allowed = [a["validation_id"] for a in answers if a["result"] == "allowed"]
    reviewed = [a["validation_id"] for a in answers if a["result"] == "requires_approval"]
    assert len(allowed) + len(reviewed) == len(answers)
    assert len(allowed) >= 2 and len(reviewed) >= 2  # settled before the revocation, and sent to review after it
    uses = GrantUse.objects.filter(grant=grant)
    assert sorted(uses.values_list("call_id", flat=True)) == sorted(allowed)  # one use per allowed call
    requested = set(ApprovalRequest.objects.values_list("call_id", flat=True))
    assert set(reviewed) <= requested and not set(allowed) & requested
    revoked_at = Grant.objects.get(pk=grant.pk).revoked_at
    assert all(use.settled_at < revoked_at for use in uses)
