"""URL routes of governance's own pages: a replay of a draft of the policy set."""

from django.urls import path

from . import views

app_name = "governance"

urlpatterns = [
    path("replays/<int:job_id>/", views.replay_detail, name="replay"),
    path("replays/<int:job_id>/cancel/", views.replay_cancel, name="replay_cancel"),
]
