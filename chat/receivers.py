"""The search index, the answers' snippets and the comment themes follow the polls' text,
comments and votes."""

from django.dispatch import receiver

from chat import tasks
from polls.events import (
    AnonymousCommentPosted,
    CommentRemoved,
    PollCreated,
    PollUpdated,
    VoteAccepted,
    VoteChanged,
    VoteWithdrawn,
)


@receiver(PollCreated.signal, dispatch_uid="chat.embed_created_poll")
@receiver(PollUpdated.signal, dispatch_uid="chat.embed_updated_poll")
def embed_poll(sender, event, **kwargs):
    tasks.queue_poll_embedding(event.poll.pk)


@receiver(VoteAccepted.signal, dispatch_uid="chat.embed_comment")
@receiver(AnonymousCommentPosted.signal, dispatch_uid="chat.embed_anonymous_comment")
def embed_comment(sender, event: VoteAccepted | AnonymousCommentPosted, **kwargs):
    if event.comment.strip():
        tasks.queue_comment_embedding(event.ballot_id)
        tasks.queue_themes(event.poll.pk)


@receiver(VoteChanged.signal, dispatch_uid="chat.embed_changed_comment")
def embed_changed_comment(sender, event: VoteChanged, **kwargs):
    if event.comment_changed:
        tasks.queue_comment_embedding(event.ballot_id)  # embeds the new text, or drops it
    if event.comment_changed or event.comment.strip():
        tasks.queue_themes(event.poll.pk)  # its text, or its author's options, changed


@receiver(CommentRemoved.signal, dispatch_uid="chat.drop_removed_comment")
def drop_removed_comment(sender, event: CommentRemoved, **kwargs):
    tasks.queue_comment_embedding(event.ballot_id)
    tasks.queue_themes(event.poll.pk)


@receiver(VoteWithdrawn.signal, dispatch_uid="chat.regroup_after_withdrawal")
def regroup_after_withdrawal(sender, event: VoteWithdrawn, **kwargs):
    tasks.queue_themes(event.poll.pk)  # a withdrawn ballot takes its comment with it
