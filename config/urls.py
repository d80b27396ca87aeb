from django.contrib import admin
from django.urls import include, path

from config.health import health_ready

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("core.urls")),
    path("health/ready", health_ready, name="health-ready"),
    path("", include("polls.urls")),
    path("", include("chat.urls")),
    path("", include("accounts.urls")),
    path("accounts/", include("accounts.auth_urls")),
    path("", include("notifications.urls")),
]

handler404 = "core.views.not_found"
handler500 = "core.views.server_error"
