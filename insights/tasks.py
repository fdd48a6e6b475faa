"""Celery task for insights: fold the newly sealed audit records into the rollups (insights/rollup.py)."""

from __future__ import annotations

from celery import shared_task

from . import rollup


@shared_task(name="insights.catch_up")
def catch_up() -> int:
    """Every 10 s from beat, so a page rarely has more than a few seconds of records to fold itself."""
    return rollup.catch_up(most=None)
