"""A tool that needs several approvals (its quorum): different reviewers each approve once, never whoever
started the run; the approval that makes the quorum resolves the request and the call runs once; one denial
ends it; the page says who has approved so far; every vote and the resolution are in the audit history."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections
from django.urls import reverse

from approvals import quorum
from approvals import services as approvals
from approvals.models import ApprovalRequest, ApprovalVote
from audit.models import AuditRecord
from governance.models import ToolRegistration
from runs import worker
from runs.models import Run, RunStatus
from tests.factories import make_user, register_demo_tools, start_run_now
from tests.support import demo_tools
from tests.support.databases import skip_unless_concurrent_writers

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def two_of_three(demo_tools_registered):
    """refund_payment needs two approvals; rita, rob and sam review; olivia's run waits on a refund of 250."""
    ToolRegistration.objects.filter(name="refund_payment").update(approvals_needed=2)
    reviewers = [make_user(name, reviewer=True) for name in ("rita", "rob", "sam")]
    run = start_run_now(make_user("olivia"), "Refund order ord_7 for 250", tools=("refund_payment",))
    return ApprovalRequest.objects.select_related("run").get(run=run), reviewers


def _approve(approval, reviewer, comment: str = "") -> ApprovalRequest:
    return approvals.resolve_approval(approval_id=approval.pk, reviewer=reviewer, resolution="approved",
                                      comment=comment)


def _refunds() -> list[dict]:
    return [e for e in demo_tools.EXECUTIONS if e["tool"] == "refund_payment"]


def test_quorum_request_stays_pending_after_the_first_approval(two_of_three):
    approval, (rita, _rob, _sam) = two_of_three

    result = _approve(approval, rita, "looks right")

    assert result.status == "pending"
    assert ApprovalRequest.objects.get(pk=approval.pk).status == "pending"
    assert str(quorum.progress(approval)) == "1 of 2 approvals: rita"
    worker.resume_run(run_id=approval.run_id)  # nothing to resume: the call still waits
    assert Run.objects.get(pk=approval.run_id).status == RunStatus.AWAITING_APPROVAL
    assert _refunds() == []


def test_quorum_second_approval_resolves_and_the_tool_runs_once(two_of_three):
    approval, (rita, rob, _sam) = two_of_three
    _approve(approval, rita)

    result = _approve(approval, rob, "second pair of eyes")
    worker.resume_run(run_id=approval.run_id)
    worker.resume_run(run_id=approval.run_id)

    assert (result.status, result.resolved_by, result.comment) == ("approved", rob, "second pair of eyes")
    assert str(quorum.progress(approval)) == "2 of 2 approvals: rita, rob"
    assert Run.objects.get(pk=approval.run_id).status == RunStatus.COMPLETED
    assert _refunds() == [{"tool": "refund_payment", "order_id": "ord_7", "amount": 250.0}]


def test_quorum_third_reviewer_finds_it_already_approved(two_of_three):
    approval, (rita, rob, sam) = two_of_three
    _approve(approval, rita)
    _approve(approval, rob)

    with pytest.raises(approvals.AlreadyResolved) as caught:
        _approve(approval, sam)

    assert str(caught.value).startswith("Already approved by rob at ")
    assert ApprovalVote.objects.filter(approval=approval).count() == 2


def test_quorum_requester_cannot_vote(demo_tools_registered):
    ToolRegistration.objects.filter(name="refund_payment").update(approvals_needed=2)
    rita = make_user("rita", reviewer=True)
    run = start_run_now(rita, "Refund order ord_7 for 250", tools=("refund_payment",))
    approval = ApprovalRequest.objects.get(run=run)

    with pytest.raises(approvals.NotAllowed) as caught:
        _approve(approval, rita)

    assert str(caught.value) == "you started this run, so someone else must review its requests"
    assert ApprovalVote.objects.count() == 0


def test_quorum_same_reviewer_cannot_approve_twice(two_of_three):
    approval, (rita, _rob, _sam) = two_of_three
    _approve(approval, rita)

    with pytest.raises(approvals.AlreadyApproved) as caught:
        _approve(approval, rita)

    assert str(caught.value) == ("You have already approved this request (1 of 2 approvals: rita); another "
                                 "reviewer must decide it.")
    assert ApprovalRequest.objects.get(pk=approval.pk).status == "pending"
    assert ApprovalVote.objects.filter(approval=approval).count() == 1


def test_quorum_reviewer_who_approved_cannot_then_deny(two_of_three):
    approval, (rita, _rob, _sam) = two_of_three
    _approve(approval, rita)

    with pytest.raises(approvals.AlreadyApproved):
        approvals.resolve_approval(approval_id=approval.pk, reviewer=rita, resolution="denied")

    assert ApprovalRequest.objects.get(pk=approval.pk).status == "pending"


def test_quorum_one_denial_ends_it(two_of_three):
    approval, (rita, rob, sam) = two_of_three
    _approve(approval, rita)

    result = approvals.resolve_approval(approval_id=approval.pk, reviewer=rob, resolution="denied",
                                        comment="wrong customer")
    worker.resume_run(run_id=approval.run_id)

    assert (result.status, result.resolved_by) == ("denied", rob)
    assert Run.objects.get(pk=approval.run_id).status == RunStatus.COMPLETED
    assert _refunds() == []
    with pytest.raises(approvals.AlreadyResolved) as caught:
        _approve(approval, sam)
    assert str(caught.value).startswith("Already denied by rob at ")


def test_quorum_audit_records_each_vote_and_the_resolution(two_of_three):
    approval, (rita, rob, _sam) = two_of_three
    _approve(approval, rita, "ok")
    _approve(approval, rob, "fine")

    records = AuditRecord.objects.filter(approval_id=approval.pk, kind="approval").order_by("id")

    assert [(r.status, r.reviewer, r.reason) for r in records] == [
        ("vote", "rita", "1 of 2 approvals: rita"),
        ("vote", "rob", "2 of 2 approvals: rita, rob"),
        ("approved", "rob", approval.reason),
    ]


def test_tool_needing_one_approval_keeps_no_vote_rows(demo_tools_registered):
    run = start_run_now(make_user("olivia"), "Refund order ord_7 for 250", tools=("refund_payment",))
    approval = ApprovalRequest.objects.get(run=run)

    assert _approve(approval, make_user("rita", reviewer=True)).status == "approved"
    assert ApprovalVote.objects.count() == 0


def test_quorum_page_shows_who_has_approved_so_far(client, two_of_three):
    approval, (rita, rob, _sam) = two_of_three
    _approve(approval, rita)
    client.force_login(rob)

    body = client.get(reverse("approvals:detail", args=[approval.pk])).content.decode()

    assert '<strong id="quorum-progress">1 of 2 approvals: rita</strong>' in body
    assert 'id="approve"' in body


def test_quorum_page_of_a_reviewer_who_approved_says_so_without_buttons(client, two_of_three):
    approval, (rita, _rob, _sam) = two_of_three
    client.force_login(rita)

    response = client.post(reverse("approvals:detail", args=[approval.pk]), {"resolution": "approved"})
    told = client.get(response["Location"]).content.decode()  # on to the next request (here: the queue)
    body = client.get(reverse("approvals:detail", args=[approval.pk])).content.decode()

    assert "refund_payment: your approval is counted (1 of 2 approvals: rita); it waits for another reviewer." in told
    assert '<strong id="quorum-progress">1 of 2 approvals: rita</strong>' in body
    assert "You have approved this request; another reviewer must decide it." in body
    assert 'id="approve"' not in body


def test_quorum_second_click_of_the_same_reviewer_gets_409_with_message(client, two_of_three):
    approval, (rita, _rob, _sam) = two_of_three
    _approve(approval, rita)
    client.force_login(rita)

    response = client.post(reverse("approvals:detail", args=[approval.pk]), {"resolution": "approved"})

    assert response.status_code == 409
    assert "You have already approved this request (1 of 2 approvals: rita)" in response.content.decode()


def _race_on_postgresql(approval, users, monkeypatch) -> list[str]:
    """`users` approve at the same moment; what each was told, sorted. The first to lock the request is held
    until the other is seen waiting on that lock (pg_stat_activity), so the two calls really overlap."""
    holding, release, outcomes = threading.Event(), threading.Event(), []
    counted = quorum._approved_by

    def held_under_the_lock(request):
        if not holding.is_set():
            holding.set()
            assert release.wait(20)
        return counted(request)

    monkeypatch.setattr(quorum, "_approved_by", held_under_the_lock)

    def click(user):
        try:
            outcomes.append(_approve(approval, user).status)
        except approvals.AlreadyResolved as exc:
            outcomes.append(str(exc)[:len("Already approved by ")])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    assert holding.wait(20)
    with connections["default"].cursor() as cursor:
        for _ in range(2000):  # until the other reviewer's transaction waits on the request's row lock
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                           "AND datname = current_database()")
            if cursor.fetchone()[0]:
                break
            time.sleep(0.01)  # a lock wait announces itself only in pg_stat_activity, so it is polled
        else:
            pytest.fail("the second reviewer never waited on the request's lock")
    release.set()
    for thread in threads:
        thread.join(30)
    return sorted(outcomes)


def _two_of_three_on_postgresql():
    skip_unless_concurrent_writers()
    register_demo_tools() if not ToolRegistration.objects.exists() else None
    demo_tools.EXECUTIONS.clear()
    ToolRegistration.objects.filter(name="refund_payment").update(approvals_needed=2)
    reviewers = [make_user(name, reviewer=True) for name in ("rita", "rob", "sam")]
    run = start_run_now(make_user("olivia"), "Refund order ord_8 for 300", tools=("refund_payment",))
    return ApprovalRequest.objects.get(run=run), reviewers


@pytest.mark.django_db(transaction=True)
def test_quorum_two_reviewers_casting_the_last_approval_at_once_resolve_it_once(monkeypatch):
    """2 of 3: rita approved earlier; rob and sam approve at the same moment: one resolves it, the other is
    told it is already approved, and the call runs once."""
    approval, (rita, rob, sam) = _two_of_three_on_postgresql()
    _approve(approval, rita)

    assert _race_on_postgresql(approval, (rob, sam), monkeypatch) == ["Already approved by ", "approved"]
    worker.resume_run(run_id=approval.run_id)
    worker.resume_run(run_id=approval.run_id)
    assert [e["order_id"] for e in _refunds()] == ["ord_8"]
    assert ApprovalVote.objects.filter(approval=approval).count() == 2
    assert AuditRecord.objects.filter(approval_id=approval.pk, status="approved").count() == 1
    assert Run.objects.get(pk=approval.run_id).status == RunStatus.COMPLETED


@pytest.mark.django_db(transaction=True)
def test_quorum_first_two_approvals_at_once_still_make_the_quorum(monkeypatch):
    """2 of 3, nobody yet: rob and sam approve at the same moment. Counted one at a time, the second sees the
    first's vote and resolves it (counted side by side, each would see only its own and it would wait forever)."""
    approval, (_rita, rob, sam) = _two_of_three_on_postgresql()

    assert _race_on_postgresql(approval, (rob, sam), monkeypatch) == ["approved", "pending"]
    worker.resume_run(run_id=approval.run_id)
    assert [e["order_id"] for e in _refunds()] == ["ord_8"]
    assert ApprovalRequest.objects.get(pk=approval.pk).status == "approved"
