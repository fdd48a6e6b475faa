"""The Celery application; tasks live in each app's `tasks.py` and are found by autodiscovery."""

import os

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger, worker_process_shutdown

from governance import telemetry
from governance.redaction import SecretsLogFilter

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("governance_dashboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@after_setup_logger.connect
@after_setup_task_logger.connect
def _scrub_secrets_in_worker_logs(logger, **_kwargs) -> None:
    """Celery replaces the root logger's handlers in workers; give its handlers the secrets filter."""
    for handler in logger.handlers:
        if not any(isinstance(f, SecretsLogFilter) for f in handler.filters):
            handler.addFilter(SecretsLogFilter())


@worker_process_shutdown.connect
def _export_last_spans(**_kwargs) -> None:
    """A pool process ends without running atexit hooks: export the spans its batch still holds."""
    telemetry.flush()
