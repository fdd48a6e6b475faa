"""URL routes of the insights page and its CSV export."""

from django.urls import path

from . import views

app_name = "insights"

urlpatterns = [
    path("", views.insights_index, name="index"),
    path("insights.csv", views.insights_csv, name="csv"),
]
