"""Django app configuration for `notifications`."""

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Django app loading: receivers and tasks import models, which exist only once the apps are ready.
        # The receivers connect to approvals' signals; the tasks register with Celery in every process,
        # so that `notifications.dispatch` finds them by name (and runs them inline when Celery is eager).
        from . import checks, receivers, tasks  # noqa: F401, PLC0415 -- app loading, see above
