"""Project package: settings, URLs, the ASGI application and the Celery app; no business logic."""

from .celery import app as celery_app

__all__ = ["celery_app"]
