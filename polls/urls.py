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
    path("poll/<str:code>/edit", views.edit, name="edit"),
    path("poll/<str:code>/close", views.close, name="close"),
    path("poll/<str:code>/reopen", views.reopen, name="reopen"),
    path("poll/<str:code>/delete", views.delete, name="delete"),
    path(
        "poll/<str:code>/comments/<int:ballot_id>/remove",
        views.comment_remove,
        name="comment-remove",
    ),
]
