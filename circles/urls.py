"""Membership's routes. A circle's own page, /circles/<slug>/, is in polls/urls.py: it
lists the circle's polls (polls/views/circles.py)."""

from django.urls import path

from circles import views

app_name = "circles"

urlpatterns = [
    path("circles/", views.circle_list, name="list"),
    path("circles/new", views.circle_new, name="new"),
    path("circles/<slug:slug>/leave", views.leave, name="leave"),
    path("circles/<slug:slug>/invite/rotate", views.invite_rotate, name="invite-rotate"),
    path(
        "circles/<slug:slug>/members/<int:user_id>/remove",
        views.member_remove,
        name="member-remove",
    ),
    path("join/<str:invite>", views.join, name="join"),
]
