"""Celery tasks for approvals: the periodic deadlines of pending requests (reminders, escalations, expiries)."""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task

from . import deadlines


@shared_task(name="approvals.expire_overdue")
def expire_overdue() -> dict[str, int]:
    """Named for what it first did; it runs every deadline step (approvals/deadlines.py), safe twice at once."""
    return asdict(deadlines.process_due())
