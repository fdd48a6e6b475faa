"""Notifications leave only after the transaction commits, and never make the approval flow fail: with
real commits (transactional tests), a rolled-back resolution sends nothing, and a receiver or broker that
is down leaves the reviewer's decision and the run's resume untouched."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction

from approvals.models import ApprovalRequest, ApprovalStatus
from approvals.services import resolve_approval
from notifications import dispatch
from notifications.models import DeliveryStatus, WebhookDelivery
from runs.models import RunStatus
from tests.factories import make_user, paused_run, register_demo_tools

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pending(links):
    """A pending refund on olivia's run, and a reviewer with an address; nothing sent yet."""
    register_demo_tools()
    operator = make_user("olivia")
    reviewer = make_user("rita", reviewer=True)
    reviewer.email = "rita@example.com"
    reviewer.save()
    approval = ApprovalRequest.objects.select_related("run").get(run=paused_run(operator))
    mail.outbox.clear()
    return approval, reviewer


def test_nothing_is_sent_when_the_transaction_rolls_back(pending, receiver, make_endpoint):
    approval, reviewer = pending
    make_endpoint(receiver.url)
    with pytest.raises(RuntimeError), transaction.atomic():
        resolve_approval(approval=approval, reviewer=reviewer, resolution="approved")
        raise RuntimeError("something later in the same transaction failed")
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    assert (receiver.requests, mail.outbox, WebhookDelivery.objects.count()) == ([], [], 0)


def test_a_new_request_is_sent_once_its_transaction_commits(links, receiver, make_endpoint):
    register_demo_tools()
    make_endpoint(receiver.url, events=["approval.requested"])
    reviewer = make_user("rita", reviewer=True)
    reviewer.email = "rita@example.com"
    reviewer.save()
    approval = ApprovalRequest.objects.get(run=paused_run(make_user("olivia")))
    assert [r.headers["X-Governance-Event"] for r in receiver.requests] == ["approval.requested"]
    assert [m.to for m in mail.outbox] == [["rita@example.com"]]
    assert f"{links}/approvals/{approval.pk}/" in mail.outbox[0].body


def test_the_flow_goes_on_when_the_receiver_is_down(pending, closed_port_url, make_endpoint, client, short_retries):
    approval, reviewer = pending
    make_endpoint(closed_port_url)
    client.force_login(reviewer)
    response = client.post(f"/approvals/{approval.pk}/", {"resolution": "approved", "comment": "go"})
    assert response.status_code == 302
    approval.refresh_from_db()
    approval.run.refresh_from_db()
    assert (approval.status, approval.run.status) == (ApprovalStatus.APPROVED, RunStatus.COMPLETED)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 5)
    assert {a.error.split(":")[0] for a in delivery.log.all()} == {"ConnectError"}
    assert [m.to for m in mail.outbox] == []  # olivia, who waits for the outcome, has no address


def test_the_flow_goes_on_when_the_broker_is_down(pending, receiver, make_endpoint, monkeypatch, caplog):
    from kombu.exceptions import OperationalError

    class Unreachable:
        def signature(self, *args, **kwargs):
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    approval, reviewer = pending
    make_endpoint(receiver.url)
    monkeypatch.setattr(dispatch, "current_app", Unreachable())
    resolve_approval(approval=approval, reviewer=reviewer, resolution="approved")
    approval.refresh_from_db()
    approval.run.refresh_from_db()
    assert (approval.status, approval.run.status) == (ApprovalStatus.APPROVED, RunStatus.COMPLETED)
    assert receiver.requests == []
    assert [r.getMessage().split(" {")[0] for r in caplog.records if r.name == "notifications.dispatch"] == [
        "could not queue notifications.deliver_webhook", "could not queue notifications.send_approval_email"]
