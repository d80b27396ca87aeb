"""The search index and the answers' snippets follow the polls' text and comments."""

from django.dispatch import receiver

from chat import tasks
from polls.events import CommentRemoved, PollCreated, PollUpdated, VoteAccepted, VoteChanged


@receiver(PollCreated.signal, dispatch_uid="chat.embed_created_poll")
@receiver(PollUpdated.signal, dispatch_uid="chat.embed_updated_poll")
def embed_poll(sender, event, **kwargs):
    tasks.queue_poll_embedding(event.poll.pk)


@receiver(VoteAccepted.signal, dispatch_uid="chat.embed_comment")
def embed_comment(sender, event: VoteAccepted, **kwargs):
    if event.comment.strip():
        tasks.queue_comment_embedding(event.ballot_id)


@receiver(VoteChanged.signal, dispatch_uid="chat.embed_changed_comment")
def embed_changed_comment(sender, event: VoteChanged, **kwargs):
    if event.comment_changed:
        tasks.queue_comment_embedding(event.ballot_id)  # embeds the new text, or drops it


@receiver(CommentRemoved.signal, dispatch_uid="chat.drop_removed_comment")
def drop_removed_comment(sender, event: CommentRemoved, **kwargs):
    tasks.queue_comment_embedding(event.ballot_id)
