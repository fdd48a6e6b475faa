"""The product's URLs plus two constant answers, the floor of bench/remote_decisions.py (see bench.floor_settings).

- `POST /bench-floor/django/`: a bare Django view that answers a constant without reading the body: what
  any request costs on this server (ASGI server, Django's handler and middleware, the thread hop of a
  sync view), with nothing of the API.
- `POST /bench-floor/ninja/`: django-ninja with no authentication or throttle, validating the body with
  the evaluate endpoint's own schema, answering a constant: adds what ninja and pydantic cost.

The evaluate endpoint minus these is what deciding and recording cost.
"""

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI

from agents.schemas import EvaluateIn
from config.urls import handler500
from config.urls import urlpatterns as product_urlpatterns

CONSTANT = {"result": "allowed"}

floor_api = NinjaAPI(urls_namespace="bench-floor", docs_url=None, openapi_url=None)


@floor_api.post("/")
def ninja_constant(request, payload: EvaluateIn):
    return CONSTANT


@csrf_exempt  # an agent's POST carries no CSRF token, as on the API (ninja exempts its views the same way)
def django_constant(request):
    return JsonResponse(CONSTANT)


urlpatterns = [
    path("bench-floor/django/", django_constant),
    path("bench-floor/ninja/", floor_api.urls),
    *product_urlpatterns,
]

__all__ = ["handler500", "urlpatterns"]
