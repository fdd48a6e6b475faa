"""Bad input at the run doors: each gets a clear error and changes nothing.

Doors: the start-run form and the cancel button (each also with a forged or missing CSRF token), and
runs the user may not see or that have ended. "Nothing changed" is `tests.support.doors.snapshot`.
The other doors are tested with their code (tests/approvals/test_bad_input.py,
tests/runs/test_consumers.py, tests/governance/test_admin.py).
"""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from governance.models import ToolRegistration
from runs.models import Run
from tests.factories import make_user, start_run_now
from tests.support.doors import FORGED, csrf_client, snapshot

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_tools_registered")]

GOOD_START = {"prompt": "Look up order ord_1", "model": "gpt-4.1", "tools": ["lookup_order"]}


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


# --- ids that are not the user's to use ---------------------------------------------------------


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


@pytest.mark.parametrize(("token", "headers"), FORGED)
def test_forged_csrf_start_run_is_403_and_creates_nothing(operator, token, headers):
    client, real = csrf_client(operator, reverse("runs:new"))
    before = snapshot()
    response = client.post(reverse("runs:new"), {**GOOD_START, **token}, headers=headers)
    assert response.status_code == 403
    assert "CSRF verification failed" in response.content.decode()
    assert snapshot() == before
    # the same post with the page's own token goes through, so the 403 was the token's doing
    assert client.post(reverse("runs:new"), {**GOOD_START, "csrfmiddlewaretoken": real}).status_code == 302
    assert Run.objects.count() == len(before["runs"]) + 1


@pytest.mark.parametrize(("token", "headers"), FORGED)
def test_forged_csrf_cancel_is_403_and_changes_nothing(paused, operator, token, headers):
    run_url = reverse("runs:detail", args=[paused.run_id])
    client, real = csrf_client(operator, run_url)
    before = snapshot()
    response = client.post(reverse("runs:cancel", args=[paused.run_id]), token, headers=headers)
    assert response.status_code == 403
    assert snapshot() == before
    confirmed = {"csrfmiddlewaretoken": real, "confirm": "yes"}
    assert client.post(reverse("runs:cancel", args=[paused.run_id]), confirmed).status_code == 302
    assert Run.objects.get(pk=paused.run_id).status == "cancelled"
