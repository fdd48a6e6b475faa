"""URL routes of the approvals pages."""

from django.urls import path

from . import views

app_name = "approvals"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("<int:approval_id>/", views.detail, name="detail"),
    path("batch/", views.batch_resolve, name="batch"),
    path("pause/", views.pause, name="pause"),
    path("pause/<int:pause_id>/resume/", views.resume, name="resume"),
]
