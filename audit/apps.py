"""App configuration of the audit history; connects the configuration-change recorders at start-up."""

from django.apps import AppConfig
from django.conf import settings


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit history"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import configuration  # noqa: PLC0415 -- app loading: it imports models, ready only now

        configuration.connect(settings.GOVERNANCE_AUDITED_MODELS)
