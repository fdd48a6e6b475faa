"""Django app configuration for `governance`; its `ready` sets tracing up once per process."""

from django.apps import AppConfig

from governance import telemetry


class GovernanceConfig(AppConfig):
    name = "governance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Every process (web, Celery workers, the sealer, management commands) loads the apps once.
        telemetry.configure_from_environment()
