from django.apps import AppConfig
from django.db.models.signals import post_migrate


def index_missing_polls(sender, **kwargs):
    """After a migrate, add polls that predate the full-text index (or were missed) to it."""
    from polls.search_index import poll_search_backfill

    poll_search_backfill()


class PollsConfig(AppConfig):
    name = "polls"

    def ready(self):
        from polls import receivers  # noqa: F401 - connects the receivers

        post_migrate.connect(index_missing_polls, sender=self, dispatch_uid="polls.fulltext")
