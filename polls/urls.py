from django.urls import path

from polls import views

app_name = "polls"

urlpatterns = [
    path("", views.home, name="home"),
    path("create", views.create, name="create"),
    path("create/option", views.option_field, name="option-field"),
    path("search", views.search, name="search"),
    path("poll/<str:code>", views.detail, name="detail"),
    path("poll/<str:code>/share", views.share, name="share"),
    path("poll/<str:code>/vote", views.vote, name="vote"),
    path("poll/<str:code>/results", views.results, name="results"),
    path("poll/<str:code>/qr.svg", views.qr_svg, name="qr-svg"),
]
