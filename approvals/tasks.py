"""Celery tasks for approvals: the periodic expiry of requests nobody resolved in time."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="approvals.expire_overdue")
def expire_overdue() -> int:
    return services.expire_overdue()
