"""URL routes of the audit page and its exports."""

from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("", views.audit_index, name="index"),
    path("export.csv", views.audit_export, {"fmt": "csv"}, name="export-csv"),
    path("export.jsonl", views.audit_export, {"fmt": "jsonl"}, name="export-jsonl"),
]
