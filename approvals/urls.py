"""URL routes of the approvals pages (the edit page's view is in approvals/edit_views.py)."""

from django.urls import path

from . import edit_views, views

app_name = "approvals"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("<int:approval_id>/", views.detail, name="detail"),
    path("<int:approval_id>/edit/", edit_views.edit, name="edit"),
    path("pause/", views.pause, name="pause"),
    path("pause/<int:pause_id>/resume/", views.resume, name="resume"),
]
