"""The "Edit, then approve" page: a form from the tool's schema, prefilled, that loses nothing on a bad submit."""

from __future__ import annotations

import pytest
from django.urls import reverse

from approvals.models import ApprovalStatus
from runs.models import RunOrigin
from tests.factories import pending_approval

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_tools_registered")]


@pytest.fixture
def edit_url(paused):
    return reverse("approvals:edit", args=[paused.pk])


def test_edit_form_is_built_from_the_schema_and_prefilled(client, reviewer, edit_url):
    client.force_login(reviewer)
    page = client.get(edit_url).content.decode()

    assert '<input type="text" name="arg-order_id" value="ord_7"' in page
    assert '<input type="number" name="arg-amount" value="250"' in page
    assert 'id="approve-edited"' in page


def test_bad_submit_shows_the_field_error_and_keeps_what_was_typed(client, reviewer, paused, edit_url):
    client.force_login(reviewer)
    response = client.post(edit_url, {"arg-order_id": "ord_99", "arg-amount": "fifty", "comment": "my note"})

    page = response.content.decode()
    assert response.status_code == 400
    assert '<ul class="errorlist" id="id_arg-amount_error"><li>Enter a number.</li></ul>' in page
    assert 'value="ord_99"' in page and 'value="fifty"' in page and "\nmy note</textarea>" in page
    paused.refresh_from_db()
    assert paused.status == ApprovalStatus.PENDING


def test_blocked_edit_is_refused_with_the_policys_reason_and_keeps_the_form(client, reviewer, paused, edit_url):
    client.force_login(reviewer)
    response = client.post(edit_url, {"arg-order_id": "ord_7", "arg-amount": "20000"})

    page = response.content.decode()
    assert response.status_code == 409
    assert "The policy blocks the edited call, so it was not approved: refund_payment is blocked: value 20,000.00 " \
           "is above 10,000" in page
    assert 'name="arg-amount" value="20000"' in page
    paused.refresh_from_db()
    assert paused.status == ApprovalStatus.PENDING


def test_unchanged_submit_says_nothing_was_changed(client, reviewer, edit_url):
    client.force_login(reviewer)
    response = client.post(edit_url, {"arg-order_id": "ord_7", "arg-amount": "250"})

    assert response.status_code == 400
    assert "Nothing was changed: use Approve to approve the call as it is." in response.content.decode()


def test_valid_edit_approves_and_the_detail_page_shows_both(client, reviewer, paused, edit_url):
    client.force_login(reviewer)
    response = client.post(edit_url, {"arg-order_id": "ord_7", "arg-amount": "50"}, follow=True)

    page = response.content.decode()
    assert response.redirect_chain == [(reverse("approvals:detail", args=[paused.pk]), 302)]
    assert "refund_payment: approved with your edit (amount: 250 -&gt; 50)." in page
    assert "Approved with edited arguments" in page
    paused.refresh_from_db()
    assert (paused.status, paused.edited_arguments) == ("approved", {"order_id": "ord_7", "amount": 50})


def test_remote_agents_call_is_refused_with_why(client, operator, reviewer):
    approval = pending_approval(operator)
    approval.run.origin = RunOrigin.REMOTE
    approval.run.save(update_fields=["origin"])
    client.force_login(reviewer)

    response = client.get(reverse("approvals:edit", args=[approval.pk]))

    assert response.status_code == 409
    assert "cannot be edited: its agent waits on the BIGHUB-compatible protocol" in response.content.decode()


def test_the_runs_starter_is_sent_back_without_a_form(client, operator, edit_url):
    client.force_login(operator)
    response = client.get(edit_url, follow=True)

    assert "Only reviewers may edit and approve a call, and not for runs they started." in response.content.decode()
    assert 'id="approve-edited"' not in response.content.decode()
