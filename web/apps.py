"""App configuration of the site's HTTP edge; connects its signal receivers (web/receivers.py)."""

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "web"
    verbose_name = "Site"

    def ready(self) -> None:
        from . import receivers  # noqa: F401 -- connects the signal receivers once apps are loaded
