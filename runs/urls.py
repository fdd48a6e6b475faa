"""URL routes of the runs pages."""

from django.urls import path

from . import views

app_name = "runs"

urlpatterns = [
    path("", views.run_list, name="list"),
    path("new/", views.run_new, name="new"),
    path("<uuid:run_id>/", views.run_detail, name="detail"),
    path("<uuid:run_id>/cancel/", views.run_cancel, name="cancel"),
    path("<uuid:run_id>/retry/", views.run_retry, name="retry"),
]
