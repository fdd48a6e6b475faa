"""Django app configuration for `governance`; its `ready` sets tracing up once per process and connects the
policy set's versioning (governance/versions.py) and registers the replay's Celery task."""

from django.apps import AppConfig

from governance import telemetry


class GovernanceConfig(AppConfig):
    name = "governance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Every process (web, Celery workers, the sealer, management commands) loads the apps once.
        telemetry.configure_from_environment()
        from governance import versions  # noqa: PLC0415 -- it imports models, which exist only once apps are ready

        versions.connect()
        # The replay task registers with Celery in every process, so governance/replay_jobs.py finds it by
        # name (and runs it inline when Celery is eager), as RunsConfig does for the runs' tasks.
        from governance import tasks  # noqa: F401, PLC0415 -- it imports models (app loading)
