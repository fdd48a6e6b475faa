"""Who changes configuration, and in which transaction: the request's user for audit records, and
one transaction per admin write.

The user is kept in `audit.configuration.current_request` for the request's duration, so a
configuration record names them; outside a request (a management command, a worker) it names
"system". Every write to the admin (POST and the like) runs in one transaction with its audit
records: Django's admin wraps its add, change and delete views itself, not its other writes
(a user's password change), and a change must never commit without its record. A write that
fails (a 500) keeps nothing.
"""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse

from .configuration import current_request

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class ConfigurationAuditMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_request.set(request)
        try:
            if request.method not in SAFE_METHODS and request.path_info.startswith(reverse("admin:index")):
                with transaction.atomic():
                    response = self.get_response(request)
                    # An exception in the view reaches here as a 500 response, not as an exception.
                    if response.status_code >= 500:
                        transaction.set_rollback(True)
                    return response
            return self.get_response(request)
        finally:
            current_request.reset(token)
