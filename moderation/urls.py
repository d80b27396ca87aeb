from django.urls import path

from moderation import views

app_name = "moderation"

urlpatterns = [
    path("poll/<str:code>/report", views.report, name="report"),
]
