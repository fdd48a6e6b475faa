"""Sticky grants (approvals/grants.py): what they cover, how they end, and that they never widen past policy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from approvals import grants
from approvals.models import ApprovalRequest, ApprovalStatus, Grant, GrantUse
from approvals.services import AlreadyResolved, ApprovalError, NotAllowed
from audit.models import AuditRecord
from runs.models import Run, RunOrigin, RunStatus
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo(demo_tools_registered):
    pass


def _settle(run, tool="refund_payment", call_id="call_later"):
    with transaction.atomic():
        return grants.settle_by_grant(run=run, tool=tool, call_id=call_id)


def _another_run(user, **fields) -> Run:
    return Run.objects.create(started_by=user, prompt="p", model="gpt-4.1", status=RunStatus.RUNNING, **fields)


def test_run_grant_settles_later_calls_of_its_tool_in_its_run_only(paused, reviewer, operator):
    grant = grants.resolve_with_grant(approval=paused, reviewer=reviewer, resolution="approved", scope="run")

    paused.refresh_from_db()
    assert (paused.status, paused.resolved_by) == (ApprovalStatus.APPROVED, reviewer)
    settled, use = _settle(paused.run)
    assert (settled, use.effect, use.call_id) == (grant, "approve", "call_later")
    assert _settle(paused.run, tool="lookup_order") is None  # another tool
    assert _settle(_another_run(operator)) is None  # another run of the same person
    assert grant.described == f"approved by grant #{grant.pk} of rita (the rest of run {str(paused.run_id)[:8]})"


def test_settling_a_call_writes_an_audit_record_naming_the_grant(paused, reviewer):
    grant = grants.resolve_with_grant(approval=paused, reviewer=reviewer, resolution="approved", scope="run")
    _settle(paused.run, call_id="call_x")
    _settle(paused.run, call_id="call_x")  # the same call again (a step written twice): one use, one record

    record = AuditRecord.objects.get(status="grant_settled")
    assert (record.details_data["grant_id"], record.call_id, record.decision, record.reviewer) == (
        grant.pk, "call_x", "approved", "rita")
    assert GrantUse.objects.filter(call_id="call_x").count() == 1


def test_actor_grant_covers_the_persons_other_runs_until_it_ends(paused, reviewer, operator):
    grant = grants.resolve_with_grant(approval=paused, reviewer=reviewer, resolution="approved", scope="actor",
                                      minutes=10)
    other_run = _another_run(operator)
    assert grant.ends_at - timezone.now() == pytest.approx(timedelta(minutes=10), abs=timedelta(seconds=5))
    assert _settle(other_run)[0] == grant
    assert _settle(_another_run(make_user("someone_else"))) is None

    Grant.objects.filter(pk=grant.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    assert _settle(other_run, call_id="call_after_the_end") is None
    assert list(Grant.objects.active()) == []


def test_actor_grant_of_a_remote_session_covers_that_actors_sessions(reviewer):
    remote = Run.objects.create(origin=RunOrigin.REMOTE, actor="AI_AGENT_001", prompt="", model="",
                                status=RunStatus.AWAITING_APPROVAL)
    approval = ApprovalRequest.objects.create(run=remote, call_id="req_1", tool="refund_payment", arguments={},
                                              arguments_digest="x", decision={})
    grant = grants.resolve_with_grant(approval=approval, reviewer=reviewer, resolution="approved", scope="actor",
                                      minutes=5)

    assert (grant.actor, grant.actor_user) == ("AI_AGENT_001", None)
    next_session = Run.objects.create(origin=RunOrigin.REMOTE, actor="AI_AGENT_001", prompt="", model="",
                                      status=RunStatus.RUNNING)
    assert _settle(next_session)[0] == grant
    other_actor = Run.objects.create(origin=RunOrigin.REMOTE, actor="AI_AGENT_002", prompt="", model="",
                                     status=RunStatus.RUNNING)
    assert _settle(other_actor) is None


def test_revoked_grant_settles_nothing_and_revoking_twice_changes_nothing(paused, reviewer):
    grant = grants.resolve_with_grant(approval=paused, reviewer=reviewer, resolution="approved", scope="run")

    assert grants.revoke_grant(grant_id=grant.pk, by=reviewer) == grant
    assert grants.revoke_grant(grant_id=grant.pk, by=reviewer) is None
    assert _settle(paused.run) is None
    grant.refresh_from_db()
    assert grant.revoked_by == reviewer
    assert AuditRecord.objects.filter(status="grant_revoked").count() == 1


def test_only_reviewers_revoke(paused, reviewer, operator):
    grant = grants.resolve_with_grant(approval=paused, reviewer=reviewer, resolution="approved", scope="run")

    with pytest.raises(NotAllowed):
        grants.revoke_grant(grant_id=grant.pk, by=operator)
    assert _settle(paused.run)[0] == grant


def test_a_run_grant_ends_with_its_run(paused, reviewer):
    grants.resolve_with_grant(approval=paused, reviewer=reviewer, resolution="approved", scope="run")
    Run.objects.filter(pk=paused.run_id).update(status=RunStatus.COMPLETED)

    assert _settle(paused.run) is None


def test_a_deny_grant_wins_over_an_approve_grant(paused, reviewer, operator):
    approve = grants.resolve_with_grant(approval=paused, reviewer=reviewer, resolution="approved", scope="actor",
                                        minutes=10)
    second = ApprovalRequest.objects.create(run=paused.run, call_id="call_2", tool="refund_payment", arguments={},
                                            arguments_digest="x", decision={})
    deny = grants.resolve_with_grant(approval=second, reviewer=reviewer, resolution="denied", scope="run",
                                     comment="no more refunds today")

    assert _settle(paused.run)[0] == deny
    assert _settle(_another_run(operator))[0] == approve
    assert deny.described.startswith(f"denied by grant #{deny.pk} of rita")


def test_nothing_is_granted_or_resolved_when_the_grant_makes_no_sense(paused, reviewer):
    with pytest.raises(ApprovalError, match="between 1 and 1440 minutes"):
        grants.resolve_with_grant(approval=paused, reviewer=reviewer, resolution="approved", scope="actor")
    with pytest.raises(ApprovalError, match="scope"):
        grants.resolve_with_grant(approval=paused, reviewer=reviewer, resolution="approved", scope="forever")

    paused.refresh_from_db()
    assert (paused.status, Grant.objects.count()) == (ApprovalStatus.PENDING, 0)


def test_nothing_is_granted_from_a_resolved_request_or_by_whoever_may_not_resolve_it(paused, reviewer, operator):
    with pytest.raises(NotAllowed):
        grants.resolve_with_grant(approval=paused, reviewer=operator, resolution="approved", scope="run")
    grants.resolve_with_grant(approval=paused, reviewer=reviewer, resolution="approved", scope="run")
    with pytest.raises(AlreadyResolved):
        grants.resolve_with_grant(approval=paused, reviewer=make_user("ray", reviewer=True), resolution="denied",
                                  scope="run")

    assert list(Grant.objects.values_list("effect", flat=True)) == ["approve"]
