"""Test data built through the same services the site uses."""

import factory

from polls import services
from polls.models import Poll


class PollFactory(factory.Factory):
    """Build a poll with its options and tally shards via poll_create."""

    class Meta:
        model = Poll

    question = factory.Sequence(lambda n: f"Which option is best? #{n}")
    options = factory.LazyFunction(lambda: ["Red", "Green", "Blue"])
    description = ""
    choice_type = Poll.ChoiceType.SINGLE
    results_visibility = Poll.ResultsVisibility.ALWAYS
    allow_comments = True
    protection = Poll.Protection.TOKEN
    listed = True
    closes_at = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.poll_create(**kwargs)

    _build = _create
