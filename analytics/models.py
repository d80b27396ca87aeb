from django.db import models

from polls.models import Poll


class Open(models.Model):
    """One counted open of a poll's page or embed; who opened it is not kept."""

    class Source(models.TextChoices):
        LINK_OPEN = "link", "Link"
        QR_SCAN = "qr", "QR code"
        EMBED_LOAD = "embed", "Embed"

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="opens")
    source = models.CharField(max_length=8, choices=Source.choices)
    opened_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["poll", "source"], name="open_poll_source")]

    def __str__(self):
        return f"{self.get_source_display()} open of poll {self.poll_id}"
