from django.contrib import admin
from django.urls import include, path, re_path

from config.api import api, unknown_route
from config.health import health_ready

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("core.urls")),
    path("health/ready", health_ready, name="health-ready"),
    path("", include("polls.urls")),
    path("", include("analytics.urls")),
    path("", include("chat.urls")),
    path("", include("accounts.urls")),
    path("accounts/", include("accounts.auth_urls")),
    path("", include("notifications.urls")),
    path("", include("moderation.urls")),
    path("", include("circles.urls")),
    path("api/v1/", api.urls),
    re_path(r"^api/v1/(?P<rest>.*)$", unknown_route),
]

handler404 = "core.views.not_found"
handler500 = "core.views.server_error"
