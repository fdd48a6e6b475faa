"""Django app configuration for `runs`."""

from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_out

from .live import on_user_logged_out


class RunsConfig(AppConfig):
    name = "runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Django app loading: both modules import models, which exist only once the apps are ready.
        # The receivers connect to approvals' signal; the tasks register with Celery in every process,
        # so that `runs.queue` finds them by name (and runs them inline when Celery is eager).
        from . import receivers, tasks  # noqa: F401, PLC0415 -- app loading, see above
        # A logout closes the websockets its session opened at once, not at their next frame.
        user_logged_out.connect(on_user_logged_out, dispatch_uid="runs.close_sockets_at_logout")
