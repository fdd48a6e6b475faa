"""Cancel run asks first: a post without the confirmation (no JavaScript, or HTMX without its hx-vals)
cancels nothing and asks; the confirmed post cancels."""

from __future__ import annotations

import pytest
from django.urls import reverse

from runs.models import Run
from tests.factories import paused_run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_tools_registered")]


def test_cancel_without_confirmation_asks_and_cancels_nothing(client, operator):
    run = paused_run(operator)
    client.force_login(operator)
    response = client.post(reverse("runs:cancel", args=[run.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert f"Cancel run {str(run.pk)[:8]}?" in body
    assert '<input type="hidden" name="confirm" value="yes">' in body
    assert Run.objects.get(pk=run.pk).status == "awaiting_approval"

    response = client.post(reverse("runs:cancel", args=[run.pk]), {"confirm": "yes"})
    assert response.status_code == 302
    assert Run.objects.get(pk=run.pk).status == "cancelled"


def test_htmx_cancel_without_confirmation_gets_the_question_in_place(client, operator):
    run = paused_run(operator)
    client.force_login(operator)
    response = client.post(reverse("runs:cancel", args=[run.pk]), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert 'id="confirm-cancel"' in body
    assert Run.objects.get(pk=run.pk).status == "awaiting_approval"


def test_run_page_cancel_button_confirms_before_posting(client, operator):
    run = paused_run(operator)
    client.force_login(operator)
    body = client.get(reverse("runs:detail", args=[run.pk])).content.decode()
    assert 'hx-confirm="Cancel this run? Its pending approval requests are denied in your name."' in body
    assert """hx-vals='{"confirm": "yes"}'""" in body
