"""The queue's filters and batch bar, and a denial that must give its reason (on the queue and on a
request's page): refused with a clear error, nothing changed and nothing the reviewer typed lost."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from approvals.forms import DENY_NEEDS_REASON
from approvals.models import ApprovalRequest, DenyReason
from tests.factories import make_user, pending_approval

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_tools_registered")]


@pytest.fixture
def reviewing(client, reviewer):
    client.force_login(reviewer)
    return client


def _statuses(*approvals) -> list[str]:
    return [ApprovalRequest.objects.get(pk=a.pk).status for a in approvals]


def _result(body: str, list_id: str) -> list[str]:
    found = re.search(rf'<ul id="{list_id}">(.*?)</ul>', body, re.DOTALL)
    return re.findall(r"<li>(.*?)</li>", found.group(1)) if found else []


def test_batch_approve_then_the_queue_says_which_succeeded_and_which_failed(reviewing, operator, reviewer):
    first, second, taken = (pending_approval(operator, n) for n in (1, 2, 3))
    ApprovalRequest.objects.filter(pk=taken.pk).update(status="denied", resolved_by=make_user("rob"),
                                                       resolved_at="2026-01-01T10:00:00Z", cause="review")
    response = reviewing.post(reverse("approvals:batch"), {
        "approval": [first.pk, taken.pk, second.pk], "resolution": "approved", "comment": "all checked"}, follow=True)
    assert response.redirect_chain == [(reverse("approvals:queue"), 302)]
    body = response.content.decode()
    assert "Batch approval: 2 succeeded, 1 failed" in body
    assert [re.sub(r"<.*?>", "", li) for li in _result(body, "batch-succeeded")] == [
        f"#{first.pk} refund_payment", f"#{second.pk} refund_payment"]
    assert re.sub(r"<.*?>", "", _result(body, "batch-failed")[0]).startswith(
        f"#{taken.pk} refund_payment: Already denied by rob at ")
    assert _statuses(first, second) == ["approved", "approved"]
    assert list(ApprovalRequest.objects.filter(status="approved").values_list("comment", flat=True)) == [
        "all checked", "all checked"]
    assert "Batch approval" not in reviewing.get(reverse("approvals:queue")).content.decode()  # shown once


def test_batch_deny_without_reason_is_refused_and_keeps_the_selection(reviewing, operator):
    first, second = pending_approval(operator, 1), pending_approval(operator, 2)
    response = reviewing.post(reverse("approvals:batch"), {"approval": [second.pk], "resolution": "denied"})
    assert response.status_code == 400
    body = response.content.decode()
    assert DENY_NEEDS_REASON in body
    assert re.search(rf'value="{second.pk}" form="batch-form" aria-label="Select request #{second.pk}" checked', body)
    assert not re.search(rf'value="{first.pk}" form="batch-form" aria-label="[^"]*" checked', body)
    assert _statuses(first, second) == ["pending", "pending"]


def test_batch_deny_with_a_preset_reason_denies(reviewing, operator):
    reason = DenyReason.objects.create(text="Refunds are frozen")
    approval = pending_approval(operator, 1)
    reviewing.post(reverse("approvals:batch"), {"approval": [approval.pk], "resolution": "denied",
                                                "deny_reason": reason.pk})
    approval.refresh_from_db()
    assert (approval.status, approval.comment) == ("denied", "Refunds are frozen")


def test_batch_with_nothing_selected_is_refused(reviewing, operator):
    approval = pending_approval(operator, 1)
    response = reviewing.post(reverse("approvals:batch"), {"resolution": "approved", "comment": "keep me"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Nothing was selected: tick requests, or all that match the filters." in body
    assert ">\nkeep me</textarea>" in body
    assert _statuses(approval) == ["pending"]


def test_deny_on_the_request_page_without_reason_is_refused(reviewing, operator):
    approval = pending_approval(operator, 1)
    response = reviewing.post(reverse("approvals:detail", args=[approval.pk]), {"resolution": "denied", "comment": " "})
    assert response.status_code == 400
    assert DENY_NEEDS_REASON in response.content.decode()
    assert _statuses(approval) == ["pending"]


def test_queue_filtered_by_requester_lists_only_theirs(reviewing, operator):
    mine, theirs = pending_approval(operator, 1), pending_approval(make_user("otto"), 2)
    body = reviewing.get(reverse("approvals:queue"), {"requester": "otto"}).content.decode()
    assert re.findall(r'data-approval="(\d+)"', body) == [str(theirs.pk)]
    assert "Select all 1 request matching the filters" in body
    assert 'ws-connect="/ws/dashboard/?show=approvals&amp;requester=otto"' in body
    assert mine.pk != theirs.pk


def test_queue_filtered_by_run_id_prefix(reviewing, operator):
    first, second = pending_approval(operator, 1), pending_approval(operator, 2)
    body = reviewing.get(reverse("approvals:queue"), {"run": str(second.run_id)[:8]}).content.decode()
    assert re.findall(r'data-approval="(\d+)"', body) == [str(second.pk)]
    assert first.pk != second.pk


def test_queue_with_a_bad_run_filter_says_so(reviewing, operator):
    pending_approval(operator, 1)
    response = reviewing.get(reverse("approvals:queue"), {"run": "not-a-run!"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "A run id is hexadecimal digits (its first 8 will do)." in body
    assert 'value="not-a-run!"' in body
    assert re.findall(r'data-approval="(\d+)"', body) == []


def test_approve_all_matching_the_filters_leaves_the_others(reviewing, operator):
    otto = make_user("otto")
    theirs = [pending_approval(otto, n) for n in (1, 2)]
    mine = pending_approval(operator, 3)
    newer = pending_approval(otto, 4)  # arrived after the page showed its count
    response = reviewing.post(reverse("approvals:batch"), {
        "matching": "on", "upto": theirs[-1].pk, "requester": "otto", "resolution": "approved"})
    assert response.status_code == 302
    assert response["Location"] == reverse("approvals:queue") + "?requester=otto"
    assert _statuses(*theirs, mine, newer) == ["approved", "approved", "pending", "pending"]


def test_batch_by_a_non_reviewer_resolves_nothing(client, operator):
    approval = pending_approval(operator, 1)
    client.force_login(operator)
    body = client.post(reverse("approvals:batch"), {"approval": [approval.pk], "resolution": "approved"},
                       follow=True).content.decode()
    assert "only members of the reviewers group may approve or deny" in body
    assert _statuses(approval) == ["pending"]


def test_request_page_tells_j_and_k_the_neighbours_in_the_queue(reviewing, operator):
    older, current, newer = (pending_approval(operator, n) for n in (1, 2, 3))
    pending_approval(make_user("otto"), 4).run.delete()  # gone: never a neighbour
    body = reviewing.get(reverse("approvals:detail", args=[current.pk])).content.decode()
    nav = re.search(r'<div id="review-nav" hidden([^>]*)>', body).group(1)
    assert f'data-next-url="/approvals/{older.pk}/"' in nav
    assert f'data-previous-url="/approvals/{newer.pk}/"' in nav
    assert f'data-edit-url="/approvals/{current.pk}/edit/"' in nav
