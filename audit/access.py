"""Who may open the pages built from the audit history: its search and export (audit/views.py) and the
figures counted from it (insights/views.py). One decorator, so both refuse the same people the same way."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.decorators import login_required, user_passes_test
from django.core.exceptions import PermissionDenied

from governance import permissions


def _readers_only(user) -> bool:
    """403 (not a login redirect) for a logged-in user who may not read the audit."""
    if not permissions.may_see_audit(user):
        raise PermissionDenied
    return True


def audit_readers_only(view: Callable) -> Callable:
    """A view for signed-in users who may read the audit history: others go to the login page (signed out)
    or get 403 (signed in)."""
    return login_required(user_passes_test(_readers_only)(view))
