"""Signal receivers of logins: stamp a session's start, and record refused logins in the audit history."""

from __future__ import annotations

from axes.helpers import get_client_ip_address, get_client_username
from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from audit.recorders import record_access

from . import sessions


@receiver(user_logged_in, dispatch_uid="web.stamp_login_time")
def stamp_login_time(sender, request, user, **kwargs) -> None:
    sessions.start(request.session)


@receiver(user_login_failed, dispatch_uid="web.record_failed_login")
def record_failed_login(sender, credentials, request=None, **kwargs) -> None:
    if request is None:  # authenticate() called outside a request (a script): no door, no address
        return
    record_access(
        event="login_failed", username=get_client_username(request, credentials) or "",
        ip_address=get_client_ip_address(request) or "", path=request.path,
    )


@receiver(user_locked_out, dispatch_uid="web.record_lockout")
def record_lockout(sender, request, username, ip_address, **kwargs) -> None:
    record_access(event="locked_out", username=username or "", ip_address=ip_address or "", path=request.path)
