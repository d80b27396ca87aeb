"""Reports of polls by visitors, and what staff decided about them."""

from django.conf import settings
from django.db import models


class Reason(models.TextChoices):
    SPAM = "spam", "Spam or advertising"
    ABUSE = "abuse", "Harassment, hate or threats"
    MISLEADING = "misleading", "Misleading or a scam"
    PERSONAL_DATA = "personal_data", "Someone's personal data"
    OTHER = "other", "Something else"


class Report(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Waiting for review"
        ACTIONED = "actioned", "The poll was hidden"
        DISMISSED = "dismissed", "Dismissed"

    poll = models.ForeignKey("polls.Poll", on_delete=models.CASCADE, related_name="reports")
    reporter_key = models.CharField(
        max_length=80, help_text="Who reported: the account, else a keyed hash of the browser."
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=16, choices=Reason.choices)
    details = models.TextField(max_length=1000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["poll", "reporter_key"], name="report_once_per_reporter"
            )
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="report_queue")]

    def __str__(self):
        return f"{self.get_reason_display()}: {self.poll}"
