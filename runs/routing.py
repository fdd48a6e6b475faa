"""Websocket routes: one run's live page, and the dashboard (lists, queue, nav count)."""

from django.urls import path

from . import consumers

websocket_urlpatterns = [
    path("ws/runs/<uuid:run_id>/", consumers.RunConsumer.as_asgi()),
    path("ws/dashboard/", consumers.DashboardConsumer.as_asgi()),
]
