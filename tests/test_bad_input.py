"""Bad input at every door of the dashboard: each gets a clear error and changes nothing.

Doors: the start-run form, the approve/deny form, the cancel button (each also with a forged or
missing CSRF token), and approval ids that do not exist or belong to a run the user may not see.
"Nothing changed" means the rows a user could notice: runs and their statuses, timeline events,
approval requests and their statuses, tool executions and the audit history. The websocket and
admin doors are tested with their code (tests/runs/test_consumers.py, tests/governance/test_admin.py).
"""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from approvals.models import ApprovalRequest, DenyReason
from audit.models import AuditRecord
from governance.models import ToolRegistration
from runs.models import Run, RunEvent, ToolExecution
from tests.factories import make_user, start_run_now

pytestmark = pytest.mark.django_db

GOOD_START = {"prompt": "Look up order ord_1", "model": "gpt-4.1", "tools": ["lookup_order"]}


def snapshot() -> dict:
    return {
        "runs": list(Run.objects.order_by("pk").values_list("pk", "status")),
        "events": RunEvent.objects.count(),
        "approvals": list(ApprovalRequest.objects.order_by("pk").values_list("pk", "status", "comment")),
        "executions": ToolExecution.objects.count(),
        "audit": AuditRecord.objects.count(),
    }


@pytest.fixture(autouse=True)
def _demo(demo_tools_registered):
    pass


@pytest.fixture
def paused(operator) -> ApprovalRequest:
    """A pending refund approval on a run the operator started."""
    start_run_now(operator, "Refund order ord_7 for 250", tools=("refund_payment",))
    return ApprovalRequest.objects.get()


# --- the start-run form -------------------------------------------------------------------------


OFFERED_MODELS_ERROR = "That model is not offered here: choose gpt-4.1, gpt-4.1-mini, o4-mini or gpt-5."


def _without(key: str) -> dict:
    return {k: v for k, v in GOOD_START.items() if k != key}


@pytest.mark.parametrize(
    ("data", "error"),
    [
        pytest.param(_without("prompt"), "This field is required.", id="prompt-missing"),
        pytest.param(_without("model"), "This field is required.", id="model-missing"),
        pytest.param(_without("tools"), "This field is required.", id="tools-missing"),
        pytest.param({**GOOD_START, "prompt": "   \n  "}, "This field is required.", id="prompt-blank"),
        pytest.param({**GOOD_START, "prompt": "x" * 20_001}, "at most 20000 characters", id="prompt-oversized"),
        pytest.param({**GOOD_START, "prompt": "Look up \x00"}, "Null characters are not allowed.", id="prompt-nul"),
        pytest.param({**GOOD_START, "model": "no-such-model-xyz"}, OFFERED_MODELS_ERROR, id="model-unknown"),
        pytest.param({**GOOD_START, "model": "gpt 4.1"}, OFFERED_MODELS_ERROR, id="model-spaces"),
        pytest.param({**GOOD_START, "model": "g" * 101}, OFFERED_MODELS_ERROR, id="model-oversized"),
        pytest.param({**GOOD_START, "tools": '["lookup_order"]'},
                     "Select a valid choice. [&quot;lookup_order&quot;] is not one of the available choices.",
                     id="tools-json-text-not-a-list"),
        pytest.param({**GOOD_START, "tools": ["lookup_order", "format_disk"]},
                     "format_disk is not one of the available choices", id="tools-one-unknown"),
        pytest.param({**GOOD_START, "tools": ["look\x00up"]}, "Null characters are not allowed.", id="tools-nul"),
        pytest.param({**GOOD_START, "tools": ["1"]}, "1 is not one of the available choices", id="tools-pk-not-name"),
    ],
)
def test_start_form_bad_post_is_400_with_error_and_creates_nothing(client, operator, data, error):
    client.force_login(operator)
    before = snapshot()
    response = client.post(reverse("runs:new"), data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert snapshot() == before


def test_start_form_disabled_tool_refused(client, operator):
    ToolRegistration.objects.filter(name="delete_customer").update(enabled=False)
    client.force_login(operator)
    before = snapshot()
    response = client.post(reverse("runs:new"), {**GOOD_START, "tools": ["delete_customer"]})
    assert response.status_code == 400
    assert "delete_customer is not one of the available choices" in response.content.decode()
    assert snapshot() == before


def test_start_form_prompt_limit_follows_the_setting(client, operator, settings):
    """The limit is enforced by the service too, so lowering the setting takes effect without a restart."""
    settings.GOVERNANCE_MAX_PROMPT_CHARS = 50
    client.force_login(operator)
    before = snapshot()
    response = client.post(reverse("runs:new"), {**GOOD_START, "prompt": "y" * 51})
    assert response.status_code == 400
    assert "The prompt is 51 characters; the limit is 50." in response.content.decode()
    assert snapshot() == before


def test_start_form_offers_the_configured_models(client, operator, settings):
    settings.GOVERNANCE_MODELS = ["gpt-4.1", "o4-mini"]
    client.force_login(operator)
    page = client.get(reverse("runs:new")).content.decode()
    assert re.findall(r'<option value="([^"]*)"', page) == ["gpt-4.1", "o4-mini"]
    assert '<option value="gpt-4.1" selected>' in page


def test_start_form_refuses_a_model_the_setting_no_longer_offers(client, operator, settings):
    settings.GOVERNANCE_MODELS = ["o4-mini"]
    client.force_login(operator)
    before = snapshot()
    response = client.post(reverse("runs:new"), GOOD_START)
    assert response.status_code == 400
    assert "That model is not offered here: choose o4-mini." in response.content.decode()
    assert snapshot() == before


def test_start_form_takes_any_model_name_when_the_setting_allows(client, operator, settings,
                                                                 django_capture_on_commit_callbacks):
    settings.GOVERNANCE_ALLOW_ANY_MODEL = True
    client.force_login(operator)
    page = client.get(reverse("runs:new")).content.decode()
    assert 'list="model-options"' in page
    assert re.findall(r'<datalist id="model-options">(.*?)</datalist>', page, re.S) == [
        '<option value="gpt-4.1"></option><option value="gpt-4.1-mini"></option><option value="o4-mini"></option>'
        '<option value="gpt-5"></option>']
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("runs:new"), {**GOOD_START, "model": "my-fine-tune-2"})
    assert response.status_code == 302
    assert Run.objects.get().model == "my-fine-tune-2"


@pytest.mark.parametrize(
    ("model", "error"),
    [
        pytest.param("gpt 4.1", "no spaces, at most 100 characters", id="spaces"),
        pytest.param("g" * 101, "at most 100 characters", id="oversized"),
    ],
)
def test_start_form_free_model_name_still_checked(client, operator, settings, model, error):
    settings.GOVERNANCE_ALLOW_ANY_MODEL = True
    client.force_login(operator)
    before = snapshot()
    response = client.post(reverse("runs:new"), {**GOOD_START, "model": model})
    assert response.status_code == 400
    assert error in response.content.decode()
    assert snapshot() == before


def _textarea(page: str, name: str) -> str:
    (value,) = re.findall(rf'<textarea name="{name}"[^>]*>\n?(.*?)</textarea>', page, re.S)
    return value


def test_start_form_huge_prompt_is_not_echoed_back_whole(client, operator):
    """A 1 MB prompt came back whole in the 400 page: the page shows at most the limit and says so."""
    client.force_login(operator)
    baseline = client.post(reverse("runs:new"), {**GOOD_START, "prompt": ""})
    before = snapshot()
    response = client.post(reverse("runs:new"), {**GOOD_START, "prompt": "x" * 1_000_000})
    assert response.status_code == 400
    page = response.content.decode()
    assert _textarea(page, "prompt") == "x" * 20_000
    assert ("Ensure this value has at most 20000 characters (it has 1000000). It is too long to show back whole: "
            "only its first 20000 characters are kept below.") in page.replace("</li><li>", " ")
    assert len(response.content) - len(baseline.content) < 20_000 + 500
    assert snapshot() == before


def test_start_form_prompt_a_little_too_long_is_kept_whole(client, operator):
    """Over the limit by a few characters: the page keeps everything typed, for the user to shorten."""
    client.force_login(operator)
    response = client.post(reverse("runs:new"), {**GOOD_START, "prompt": "y" * 20_050})
    assert response.status_code == 400
    assert _textarea(response.content.decode(), "prompt") == "y" * 20_050


def test_resolve_form_huge_comment_is_not_echoed_back_whole(client, paused, reviewer):
    client.force_login(reviewer)
    before = snapshot()
    response = client.post(reverse("approvals:detail", args=[paused.pk]),
                           {"resolution": "denied", "comment": "c" * 1_000_000})
    assert response.status_code == 400
    assert _textarea(response.content.decode(), "comment") == "c" * 2000
    assert len(response.content) < 40_000
    assert snapshot() == before


def test_start_form_json_body_is_400_and_creates_nothing(client, operator):
    client.force_login(operator)
    before = snapshot()
    response = client.post(reverse("runs:new"), json.dumps(GOOD_START), content_type="application/json")
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert snapshot() == before


# --- the approve/deny form ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "error"),
    [
        pytest.param({}, "This field is required.", id="resolution-missing"),
        pytest.param({"resolution": "expired"}, "Select a valid choice. expired is not one of the available",
                     id="resolution-expired"),
        pytest.param({"resolution": "APPROVED"}, "Select a valid choice. APPROVED is not one of the available",
                     id="resolution-wrong-case"),
        pytest.param({"resolution": "denied", "deny_reason": "abc"}, "Select a valid choice.", id="reason-not-int"),
        pytest.param({"resolution": "denied", "deny_reason": "1.5"}, "Select a valid choice.", id="reason-float"),
        pytest.param({"resolution": "denied", "deny_reason": "999999"}, "Select a valid choice.",
                     id="reason-nonexistent"),
        pytest.param({"resolution": "denied", "deny_reason": "9" * 30}, "Select a valid choice.",
                     id="reason-out-of-range"),
        pytest.param({"resolution": "denied", "comment": "c" * 2001}, "at most 2000 characters",
                     id="comment-oversized"),
    ],
)
def test_resolve_form_bad_post_is_400_with_error_and_changes_nothing(client, paused, reviewer, data, error):
    client.force_login(reviewer)
    before = snapshot()
    response = client.post(reverse("approvals:detail", args=[paused.pk]), data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert snapshot() == before
    assert ApprovalRequest.objects.get(pk=paused.pk).status == "pending"


def test_resolve_with_retired_deny_reason_is_400_with_error(client, paused, reviewer):
    """A reason an admin switched off while the reviewer had the page open."""
    reason = DenyReason.objects.create(text="Duplicate refund", active=False)
    client.force_login(reviewer)
    before = snapshot()
    response = client.post(reverse("approvals:detail", args=[paused.pk]),
                           {"resolution": "denied", "deny_reason": str(reason.pk)})
    assert response.status_code == 400
    assert "Select a valid choice. That choice is not one of the available choices." in response.content.decode()
    assert snapshot() == before


# --- ids that are not the user's to use ---------------------------------------------------------


def test_approval_id_that_does_not_exist_is_404(client, paused, reviewer):
    client.force_login(reviewer)
    before = snapshot()
    url = reverse("approvals:detail", args=[paused.pk + 1000])
    assert client.get(url).status_code == 404
    response = client.post(url, {"resolution": "approved"})
    assert response.status_code == 404
    assert "no such run or approval request, or you may not see it" in response.content.decode()
    assert snapshot() == before


def test_approval_of_a_run_the_user_may_not_see_is_404(client, paused):
    stranger = make_user("oscar")
    client.force_login(stranger)
    before = snapshot()
    url = reverse("approvals:detail", args=[paused.pk])
    assert client.get(url).status_code == 404
    for resolution in ("approved", "denied"):
        assert client.post(url, {"resolution": resolution}).status_code == 404
    assert snapshot() == before


def test_cancel_of_a_run_the_user_may_not_see_is_404(client, paused):
    client.force_login(make_user("oscar"))
    before = snapshot()
    response = client.post(reverse("runs:cancel", args=[paused.run_id]))
    assert response.status_code == 404
    assert snapshot() == before


def test_cancel_of_an_ended_run_says_so_and_changes_nothing(client, operator):
    run = start_run_now(operator, "Look up order ord_1", tools=("lookup_order",))
    assert run.status == "completed"
    client.force_login(operator)
    before = snapshot()
    response = client.post(reverse("runs:cancel", args=[run.pk]), follow=True)
    assert "This run cannot be cancelled (it has ended" in response.content.decode()
    assert snapshot() == before


def test_cancel_by_get_is_refused(client, paused, operator):
    client.force_login(operator)
    before = snapshot()
    assert client.get(reverse("runs:cancel", args=[paused.run_id])).status_code == 405
    assert snapshot() == before


# --- forged CSRF --------------------------------------------------------------------------------


def _csrf_client(user, page: str) -> tuple[Client, str]:
    """A client that enforces CSRF like a browser would, and the real token its page handed out."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get(page).status_code == 200
    return client, client.cookies["csrftoken"].value


FORGED = [
    pytest.param({}, {}, id="no-token"),
    pytest.param({"csrfmiddlewaretoken": "x" * 32}, {}, id="wrong-form-token"),
    pytest.param({}, {"X-CSRFToken": "y" * 64}, id="wrong-header-token"),
]


@pytest.mark.parametrize(("token", "headers"), FORGED)
def test_forged_csrf_start_run_is_403_and_creates_nothing(operator, token, headers):
    client, real = _csrf_client(operator, reverse("runs:new"))
    before = snapshot()
    response = client.post(reverse("runs:new"), {**GOOD_START, **token}, headers=headers)
    assert response.status_code == 403
    assert "CSRF verification failed" in response.content.decode()
    assert snapshot() == before
    # the same post with the page's own token goes through, so the 403 was the token's doing
    assert client.post(reverse("runs:new"), {**GOOD_START, "csrfmiddlewaretoken": real}).status_code == 302
    assert Run.objects.count() == len(before["runs"]) + 1


@pytest.mark.parametrize(("token", "headers"), FORGED)
@pytest.mark.parametrize("resolution", ["approved", "denied"])
def test_forged_csrf_approve_or_deny_is_403_and_changes_nothing(paused, reviewer, resolution, token, headers):
    url = reverse("approvals:detail", args=[paused.pk])
    client, real = _csrf_client(reviewer, url)
    before = snapshot()
    response = client.post(url, {"resolution": resolution, **token}, headers=headers)
    assert response.status_code == 403
    assert snapshot() == before
    assert ApprovalRequest.objects.get(pk=paused.pk).status == "pending"
    assert client.post(url, {"resolution": resolution, "csrfmiddlewaretoken": real}).status_code == 302
    assert ApprovalRequest.objects.get(pk=paused.pk).status == resolution


@pytest.mark.parametrize(("token", "headers"), FORGED)
def test_forged_csrf_cancel_is_403_and_changes_nothing(paused, operator, token, headers):
    run_url = reverse("runs:detail", args=[paused.run_id])
    client, real = _csrf_client(operator, run_url)
    before = snapshot()
    response = client.post(reverse("runs:cancel", args=[paused.run_id]), token, headers=headers)
    assert response.status_code == 403
    assert snapshot() == before
    assert client.post(reverse("runs:cancel", args=[paused.run_id]), {"csrfmiddlewaretoken": real}).status_code == 302
    assert Run.objects.get(pk=paused.run_id).status == "cancelled"
