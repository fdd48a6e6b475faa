"""URL routes of the approvals pages (the edit page's view is in approvals/edit_views.py)."""

from django.urls import path

from . import edit_views, grant_views, views

app_name = "approvals"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("<int:approval_id>/", views.detail, name="detail"),
    path("<int:approval_id>/edit/", edit_views.edit, name="edit"),
    path("batch/", views.batch_resolve, name="batch"),
    path("pause/", views.pause, name="pause"),
    path("pause/<int:pause_id>/resume/", views.resume, name="resume"),
    path("<int:approval_id>/grant/", grant_views.grant, name="grant"),
    path("grants/", grant_views.grant_list, name="grants"),
    path("grants/<int:grant_id>/revoke/", grant_views.revoke, name="revoke_grant"),
]
