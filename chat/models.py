import numpy as np
from django.db import models

from polls.models import Poll

EMBEDDING_DIM = 384


class Snippet(models.Model):
    """A piece of a poll's text (question, option or comment) with its embedding."""

    class Kind(models.TextChoices):
        POLL = "poll", "Question and description"
        OPTION = "option", "Option"
        COMMENT = "comment", "Comment"

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="snippets")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    source_id = models.PositiveBigIntegerField(
        help_text="The poll, option or ballot it comes from."
    )
    text = models.TextField()
    text_hash = models.CharField(max_length=64)
    model_name = models.CharField(max_length=100)
    vector = models.BinaryField(help_text="384 float32 values, unit length.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "source_id"], name="snippet_one_per_source"),
        ]
        indexes = [models.Index(fields=["poll", "kind"], name="snippet_poll_kind")]

    def __str__(self):
        return f"{self.kind} {self.source_id}: {self.text[:40]}"

    def as_array(self) -> np.ndarray:
        return np.frombuffer(self.vector, dtype=np.float32)


class PollTag(models.Model):
    """A topic label given to a poll automatically, usable as a search filter."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="tags")
    label = models.CharField(max_length=40)
    score = models.FloatField(help_text="How well the label fits, from -1 to 1.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score"]
        constraints = [
            models.UniqueConstraint(fields=["poll", "label"], name="polltag_once_per_poll"),
        ]
        indexes = [models.Index(fields=["label"], name="polltag_label")]

    def __str__(self):
        return f"{self.label} on {self.poll_id}"


class PollThemes(models.Model):
    """The themes a poll's comments fall into, as last computed off the request path.

    themes is a list of {"label", "size", "options": {option id: authors who chose it},
    "quotes": [{"ballot_id", "text"}]}; who may see the option counts is decided on reading.
    """

    poll = models.OneToOneField(Poll, on_delete=models.CASCADE, related_name="themes")
    themes = models.JSONField(default=list)
    comment_count = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "poll themes"

    def __str__(self):
        return f"{len(self.themes)} themes of poll {self.poll_id}"
