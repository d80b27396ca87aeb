from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("poll/<str:code>/analytics", views.poll_analytics, name="poll"),
    path("poll/<str:code>/results.csv", views.results_csv, name="csv"),
]
