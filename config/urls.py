"""Top-level URL routes: the dashboard's apps, the agents' API (/bighub/), login/logout, the Django admin,
governance's replay pages, and the 500 page's view."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from agents.api import api as agents_api

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="runs:list", permanent=False)),
    path("runs/", include("runs.urls")),
    path("approvals/", include("approvals.urls")),
    path("audit/", include("audit.urls")),
    path("governance/", include("governance.urls")),
    path("insights/", include("insights.urls")),
    path("bighub/", agents_api.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]

# 400, 403 and 404 use Django's views, which render templates/4xx.html with the request.
handler500 = "web.views.server_error"
