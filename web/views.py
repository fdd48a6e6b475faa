"""Error pages that need more than Django's defaults (which render 400.html, 403.html, 404.html and
403_csrf.html with the request, so those show the navigation as they are)."""

from __future__ import annotations

import logging

from django.http import HttpResponseServerError
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

log = logging.getLogger(__name__)


@requires_csrf_token
def server_error(request):
    """The 500 page with the navigation when the request can still be rendered with (the context
    processors read the user and the database, which may be what failed), else without it."""
    template = loader.get_template("500.html")
    try:
        return HttpResponseServerError(template.render(request=request))
    except Exception:
        log.exception("the 500 page could not be rendered with its request; rendering it without")
        return HttpResponseServerError(template.render())
