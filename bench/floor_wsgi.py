"""A WSGI entry point for bench/remote_decisions.py only (`--asgi wsgi`): the same Django project and settings
served by uvicorn's WSGI interface, to measure what the ASGI adaptation costs a sync view. The product serves
ASGI only; this is a variant to compare, not a deployment."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.floor_settings")
application = get_wsgi_application()
