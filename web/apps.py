"""App configuration of the site's HTTP edge; connects its signal receivers (web/receivers.py)."""

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "web"
    verbose_name = "Site"

    def ready(self) -> None:
        from . import receivers  # noqa: F401, PLC0415 -- app loading: connects the receivers once apps are ready
