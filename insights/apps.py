"""App configuration of the insights page (/insights/): what the policies and reviewers did, in figures."""

from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = "Insights"
    default_auto_field = "django.db.models.BigAutoField"
