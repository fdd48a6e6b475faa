"""Retrying a failed run from its page: a new run with the same prompt, model and tools.

Runs fail here the way they do in production: the emulator behind the runs' OpenAI client answers
500 (not retried by the runner, so the run fails at once).
"""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.urls import reverse

from approvals import services as approvals
from approvals.models import ApprovalRequest
from audit.models import AuditRecord
from governance.emulator import Fault
from governance.models import ToolRegistration
from runs import commands, worker
from runs.models import Run, RunEvent, RunStatus, ToolExecution
from tests.factories import make_user, register_demo_tools, start_run_now
from tests.support import demo_tools

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _demo(demo_tools_registered):
    pass


@pytest.fixture
def failed(operator, emulator) -> Run:
    emulator.inject(Fault.server_error())
    run = start_run_now(operator, "Look up order ord_100", tools=("lookup_order", "refund_payment"))
    assert run.status == RunStatus.FAILED
    return run


def snapshot() -> dict:
    return {
        "runs": list(Run.objects.order_by("pk").values_list("pk", "status", "error")),
        "events": RunEvent.objects.count(),
        "approvals": ApprovalRequest.objects.count(),
        "executions": ToolExecution.objects.count(),
        "audit": AuditRecord.objects.count(),
    }


def post_retry(client, run, **extra):
    return client.post(reverse("runs:retry", args=[run.pk]), **extra)


def test_failed_run_page_offers_retry_to_its_owner(client, operator, failed):
    client.force_login(operator)
    body = client.get(reverse("runs:detail", args=[failed.pk])).content.decode()
    assert f'action="/runs/{failed.pk}/retry/"' in body
    assert 'id="retry-run"' in body
    assert 'id="cancel-run"' not in body


def test_completed_run_page_offers_no_retry(client, operator):
    run = start_run_now(operator, "Look up order ord_1", tools=("lookup_order",))
    assert run.status == RunStatus.COMPLETED
    client.force_login(operator)
    assert 'id="retry-run"' not in client.get(reverse("runs:detail", args=[run.pk])).content.decode()


def test_retry_starts_a_new_run_with_the_same_request_and_redirects_to_it(
        client, operator, failed, django_capture_on_commit_callbacks):
    before = list(failed.events.values_list("seq", "payload"))
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_retry(client, failed)
    new = Run.objects.exclude(pk=failed.pk).get()
    assert response.status_code == 302
    assert response.url == f"/runs/{new.pk}/"
    assert (new.prompt, new.model, new.started_by) == (failed.prompt, failed.model, operator)
    assert sorted(new.tools.values_list("name", flat=True)) == ["lookup_order", "refund_payment"]
    first = new.events.get(seq=1)
    assert first.payload["status"] == "queued"
    assert first.payload["detail"] == f"retry of run {str(failed.pk)[:8]} by olivia"
    assert new.status == RunStatus.COMPLETED  # the provider is back: the retry went through
    assert "ord_100" in new.final_text
    # the failed run is left exactly as it was
    failed_now = Run.objects.get(pk=failed.pk)
    assert (failed_now.status, failed_now.error, failed_now.state) == (failed.status, failed.error, failed.state)
    assert list(failed_now.events.values_list("seq", "payload")) == before
    # the new run's page says where it came from; the old one points to the new one
    page = client.get(response.url).content.decode()
    assert f"retry of run {str(failed.pk)[:8]} by olivia" in page
    assert f"This is a new run retrying run {str(failed.pk)[:8]}." in page
    old_page = client.get(reverse("runs:detail", args=[failed.pk])).content.decode()
    assert f'Retried as run <a href="/runs/{new.pk}/">{str(new.pk)[:8]}</a>' in old_page
    assert 'id="retry-run"' not in old_page
    assert AuditRecord.objects.filter(run_id=new.pk, reason=first.payload["detail"]).exists()


def test_retry_does_not_carry_over_the_failed_runs_state(operator, reviewer, emulator):
    """The failed run had its refund approved and run; the retry starts over and asks again."""
    run = start_run_now(operator, "Refund order ord_7 for 250", tools=("refund_payment",))
    emulator.inject(Fault.server_error())
    approvals.resolve_approval(approval_id=ApprovalRequest.objects.get(run=run).pk, reviewer=reviewer,
                               resolution="approved")
    worker.resume_run(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert len(demo_tools.EXECUTIONS) == 1

    new = commands.retry_run(run=run, user=operator)
    worker.execute_run(run_id=new.pk)
    new.refresh_from_db()
    assert new.status == RunStatus.AWAITING_APPROVAL
    assert ApprovalRequest.objects.get(run=new).status == "pending"
    assert not ToolExecution.objects.filter(run=new).exists()
    assert len(demo_tools.EXECUTIONS) == 1  # the refund did not run again
    assert emulator.requests[-1]["input"][0]["content"] == "Refund order ord_7 for 250"
    assert not any(item.get("type") == "function_call_output" for item in emulator.requests[-1]["input"])


def test_reviewer_may_retry_an_operators_run_and_starts_it_as_themselves(client, reviewer, failed):
    client.force_login(reviewer)
    response = post_retry(client, failed)
    new = Run.objects.exclude(pk=failed.pk).get()
    assert response.url == new.get_absolute_url()
    assert new.started_by == reviewer
    assert new.events.get(seq=1).payload["detail"] == f"retry of run {str(failed.pk)[:8]} by rita"


def test_htmx_retry_redirects_the_whole_page(client, operator, failed):
    client.force_login(operator)
    response = post_retry(client, failed, headers={"HX-Request": "true"})
    new = Run.objects.exclude(pk=failed.pk).get()
    assert response.status_code == 200
    assert response["HX-Redirect"] == new.get_absolute_url()


# --- refused -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "status"),
    [("Look up order ord_1", "completed"), ("Refund order ord_7 for 250", "awaiting approval")],
)
def test_retry_of_a_run_that_did_not_fail_is_refused(client, operator, prompt, status):
    run = start_run_now(operator, prompt, tools=("refund_payment", "lookup_order"))
    client.force_login(operator)
    before = snapshot()
    response = post_retry(client, run, follow=True)
    assert response.redirect_chain == [(run.get_absolute_url(), 302)]
    assert f"Only a failed run can be retried; this one is {status}." in response.content.decode()
    assert snapshot() == before


def test_cancelled_run_cannot_be_retried(client, operator):
    run = commands.start_run(user=operator, prompt="Look up order ord_1", model="gpt-4.1", tool_names=["lookup_order"])
    assert commands.cancel_run(run=run, user=operator)
    client.force_login(operator)
    before = snapshot()
    response = post_retry(client, run, follow=True)
    assert "Only a failed run can be retried; this one is cancelled." in response.content.decode()
    assert snapshot() == before


def test_retry_of_someone_elses_run_is_404_and_creates_nothing(client, failed):
    client.force_login(make_user("oscar"))
    before = snapshot()
    assert post_retry(client, failed).status_code == 404
    assert snapshot() == before


def test_user_who_may_see_but_not_act_on_the_run_is_refused(client, failed):
    """A 'watchers' group may view every run (runs.view_run) but holds no permission to act on one."""
    watchers = Group.objects.create(name="watchers")
    watchers.permissions.add(Permission.objects.get(codename="view_run"))
    watcher = make_user("walt")
    watcher.groups.add(watchers)
    client.force_login(watcher)
    page = client.get(reverse("runs:detail", args=[failed.pk])).content.decode()
    assert f'id="event-{failed.events.count()}"' in page and 'id="retry-run"' not in page
    before = snapshot()
    response = post_retry(client, failed, follow=True)
    assert "You may not retry this run: only whoever started it and reviewers may." in response.content.decode()
    assert snapshot() == before


def test_second_retry_is_refused_and_points_to_the_first(client, operator, failed):
    client.force_login(operator)
    post_retry(client, failed)
    new = Run.objects.exclude(pk=failed.pk).get()
    before = snapshot()
    response = post_retry(client, failed, follow=True)
    assert f"This run was already retried as run {str(new.pk)[:8]}." in response.content.decode()
    assert snapshot() == before


def test_retry_with_a_tool_disabled_since_is_refused(client, operator, failed):
    ToolRegistration.objects.filter(name="refund_payment").update(enabled=False)
    client.force_login(operator)
    before = snapshot()
    response = post_retry(client, failed, follow=True)
    assert ("This run cannot be retried as it was: These tools are not registered or are disabled: "
            "refund_payment.") in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize("token", [None, "x" * 32], ids=["no-token", "wrong-token"])
def test_retry_with_forged_csrf_is_403_and_creates_nothing(operator, failed, token):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    client.get(reverse("runs:detail", args=[failed.pk]))
    before = snapshot()
    response = post_retry(client, failed, data={"csrfmiddlewaretoken": token} if token else {})
    assert response.status_code == 403
    assert snapshot() == before
    real = client.cookies["csrftoken"].value
    assert post_retry(client, failed, data={"csrfmiddlewaretoken": real}).status_code == 302


def test_retry_by_get_is_refused(client, operator, failed):
    client.force_login(operator)
    before = snapshot()
    assert client.get(reverse("runs:retry", args=[failed.pk])).status_code == 405
    assert snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_two_retries_at_once_start_one_run(emulator):
    if not ToolRegistration.objects.exists():
        register_demo_tools()
    owner, other = make_user("o3"), make_user("r3", reviewer=True)
    emulator.inject(Fault.server_error())
    failed = start_run_now(owner, "Look up order ord_5", tools=("lookup_order",))
    assert failed.status == RunStatus.FAILED
    barrier, outcomes = threading.Barrier(2), []

    def click(user):
        barrier.wait()
        try:
            commands.retry_run(run=failed, user=user)
            outcomes.append("started")
        except commands.RetryRefused as exc:
            outcomes.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=click, args=(user,)) for user in (owner, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Run.objects.exclude(pk=failed.pk).count() == 1
    assert sorted(outcomes)[1] == "started"
    assert sorted(outcomes)[0].startswith("This run was already retried as run ")


def test_live_updated_button_posts_with_the_pages_header_token(operator, failed):
    """After a live update the form has no token field; HTMX sends the page's token as X-CSRFToken."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    client.get(reverse("runs:detail", args=[failed.pk]))
    token = client.cookies["csrftoken"].value
    response = post_retry(client, failed, headers={"HX-Request": "true", "X-CSRFToken": token})
    new = Run.objects.exclude(pk=failed.pk).get()
    assert response["HX-Redirect"] == new.get_absolute_url()


def test_a_second_retry_of_one_run_is_refused_by_the_database(operator, failed):
    from django.db import IntegrityError, transaction

    commands.retry_run(run=failed, user=operator)
    with pytest.raises(IntegrityError), transaction.atomic():
        Run.objects.create(started_by=operator, prompt="p", model="m", retry_of=failed)
