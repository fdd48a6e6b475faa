"""Two reviewers batch-approve overlapping selections at the same moment (PostgreSQL, real threads):
each request is resolved once, by one of them, and each approved call runs exactly once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from approvals import batch
from approvals.models import ApprovalRequest
from audit.models import AuditRecord
from governance.models import ToolRegistration
from tests.factories import make_user, register_demo_tools, start_run_now
from tests.support import demo_tools
from tests.support.databases import skip_unless_concurrent_writers


@pytest.mark.django_db(transaction=True)
def test_overlapping_batches_at_once_resolve_each_request_once_and_run_each_call_once():
    skip_unless_concurrent_writers()
    register_demo_tools() if not ToolRegistration.objects.exists() else None
    demo_tools.EXECUTIONS.clear()
    operator, first, second = make_user("o3"), make_user("r3", reviewer=True), make_user("r4", reviewer=True)
    ids = [ApprovalRequest.objects.get(run=start_run_now(operator, f"Refund order ord_9{n} for 300",
                                                         tools=("refund_payment",))).pk for n in range(6)]
    selections = {first: ids[:4], second: list(reversed(ids[2:]))}  # ids[2:4] in both, met from both ends
    barrier, outcomes = threading.Barrier(2), {}

    def click(user) -> None:
        barrier.wait()
        try:
            # Celery is eager here: each resume runs in this thread after its resolution commits.
            outcomes[user.username] = batch.resolve_many(approval_ids=selections[user], reviewer=user,
                                                         resolution="approved", comment="batch")
        finally:
            connection.close()

    threads = [threading.Thread(target=click, args=(user,)) for user in selections]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    won = {o.approval_id: name for name, results in outcomes.items() for o in results if o.ok}
    lost = [o for results in outcomes.values() for o in results if not o.ok]
    assert sorted(won) == ids
    assert len(lost) == 2 and all(o.message.startswith("Already approved by r") for o in lost)
    resolved_by = dict(ApprovalRequest.objects.filter(pk__in=ids).values_list("pk", "resolved_by__username"))
    assert resolved_by == won
    assert sorted(e["order_id"] for e in demo_tools.EXECUTIONS) == sorted(f"ord_9{n}" for n in range(6))
    assert AuditRecord.objects.filter(approval_id__in=ids, kind="approval").count() == 6
