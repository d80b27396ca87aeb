"""Test data built through the same services the site uses."""

import importlib

import factory
from django.apps import apps as django_apps

from polls import services
from polls.models import Poll, PollTemplate


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


def starter_templates() -> list[PollTemplate]:
    """The starter templates as `migrate` loads them. A flush (transactional tests) empties
    the table in a shared test database, so they are loaded again where missing."""
    starters = PollTemplate.objects.filter(owner__isnull=True)
    if not starters.exists():
        migration = importlib.import_module("polls.migrations.0006_starter_templates")
        migration.load(django_apps, schema_editor=None)
    return list(starters)
