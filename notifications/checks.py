"""System checks of notifications' settings (run by `manage.py check --deploy`)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Warning, register


@register(deploy=True)
def link_base_url_set(app_configs, **kwargs) -> list[Warning]:
    if settings.GOVERNANCE_LINK_BASE_URL:
        return []
    return [Warning(
        "GOVERNANCE_PUBLIC_URL is not set, so the links in notification emails and webhooks are bare paths "
        "(/approvals/12/) that open nothing.",
        hint="Set GOVERNANCE_PUBLIC_URL to the dashboard's address, e.g. https://governance.example.com.",
        id="notifications.W001",
    )]
