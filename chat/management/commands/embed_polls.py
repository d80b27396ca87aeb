from django.core.management.base import BaseCommand
from tqdm import tqdm

from chat import search, services, tags
from chat.models import Snippet
from polls.models import Poll


class Command(BaseCommand):
    help = "Embed every poll's text and comments and tag it; only changed text unless --all."

    def add_arguments(self, parser):
        parser.add_argument(
            "--all", action="store_true", help="Re-embed every snippet, changed or not."
        )

    def handle(self, *args, **options):
        poll_ids = list(Poll.objects.order_by("pk").values_list("pk", flat=True))
        embedded = 0
        for poll_id in tqdm(poll_ids, desc="Embedding polls", unit="poll"):
            if options["all"]:
                Snippet.objects.filter(poll_id=poll_id).update(text_hash="")
            embedded += services.poll_snippets_sync(poll_id=poll_id)
            tags.poll_tags_assign(poll_id=poll_id)
        search.index_changed()
        self.stdout.write(f"Embedded {embedded} texts from {len(poll_ids)} polls.")
