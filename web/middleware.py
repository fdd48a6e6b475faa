"""The site's own middleware: no caching of dashboard responses, and session activity."""

from __future__ import annotations

from django.utils.cache import add_never_cache_headers
from django.utils.deprecation import MiddlewareMixin

from . import sessions


class NoStoreMiddleware(MiddlewareMixin):
    """No page, fragment or export of the dashboard is kept by a browser or a proxy cache.

    They show runs, approvals and audit records, which must not outlive the session (a shared
    computer's back button, a proxy's cache). A response that says how to cache itself keeps its
    own header; static files never reach this middleware (WhiteNoise answers before it).
    """

    def process_response(self, request, response):
        if not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response


class SessionActivityMiddleware(MiddlewareMixin):
    """Each request of a logged-in session counts as activity for the idle timeout (web/sessions.py)."""

    def process_request(self, request):
        sessions.touch(request.session)
