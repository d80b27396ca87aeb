from django.urls import path

from polls.views import circles, embed, my_polls, owner, pages, present, share, templates, voting

app_name = "polls"

urlpatterns = [
    path("", pages.home, name="home"),
    path("create", pages.create, name="create"),
    path("create/option", pages.option_field, name="option-field"),
    path("templates/", templates.template_list, name="templates"),
    path("my/", my_polls.my_polls, name="my-polls"),
    path("circles/<slug:slug>/", circles.circle_detail, name="circle"),
    path("poll/<str:code>", pages.detail, name="detail"),
    path("poll/<str:code>/share", share.share, name="share"),
    path("poll/<str:code>/vote", voting.vote, name="vote"),
    path("poll/<str:code>/withdraw", voting.withdraw, name="withdraw"),
    path("poll/<str:code>/present", present.present, name="present"),
    path("poll/<str:code>/embed", embed.embed, name="embed"),
    path("poll/<str:code>/reveal", owner.reveal, name="reveal"),
    path("poll/<str:code>/save-template", templates.save_template, name="save-template"),
    path("poll/<str:code>/results", pages.results, name="results"),
    path("poll/<str:code>/qr.svg", share.qr_svg, name="qr-svg"),
    path("poll/<str:code>/qr.png", share.qr_png, name="qr-png"),
    path("poll/<str:code>/card.png", share.card_png, name="card"),
    path("poll/<str:code>/edit", owner.edit, name="edit"),
    path("poll/<str:code>/close", owner.close, name="close"),
    path("poll/<str:code>/reopen", owner.reopen, name="reopen"),
    path("poll/<str:code>/delete", owner.delete, name="delete"),
    path(
        "poll/<str:code>/comments/<int:ballot_id>/remove",
        owner.comment_remove,
        name="comment-remove",
    ),
]
