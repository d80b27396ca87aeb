"""Poll templates: counting their uses, and saving a poll as one's own template."""

from django.db.models import F, Q

from polls.models import Poll, PollTemplate


def templates_for(user):
    """The templates this user may start from: the starter set and their own."""
    mine = Q(owner=user) if user is not None and user.is_authenticated else Q(pk__in=[])
    return PollTemplate.objects.filter(Q(owner__isnull=True) | mine)


def template_used(*, template_id, user) -> None:
    """A poll was created from this template: it moves up the popular list."""
    templates_for(user).filter(pk=template_id).update(uses=F("uses") + 1)


def template_from_poll(*, poll: Poll, user) -> PollTemplate:
    """Save the poll's question, options and settings as the user's own template."""
    return PollTemplate.objects.create(
        owner=user,
        category=PollTemplate.Category.MINE,
        title=poll.question[:120],
        question=poll.question,
        description=poll.description,
        options=list(poll.options.values_list("text", flat=True)),
        form_settings={
            "choice_type": poll.choice_type,
            "results_visibility": poll.results_visibility,
            "comments": "allowed" if poll.allow_comments else "off",
            "protection": poll.protection,
            "visibility": "listed" if poll.listed else "unlisted",
            "vote_changes": poll.vote_changes,
            "anonymous": "on" if poll.anonymous else "off",
        },
    )
