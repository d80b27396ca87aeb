"""The audit log: who did what to which object, and when. Rows are only ever added."""

from django.conf import settings
from django.db import models


class Action(models.TextChoices):
    HIDE = "hide", "Hid a poll"
    RESTORE = "restore", "Restored a hidden poll"
    DELETE = "delete", "Deleted a poll"
    CLOSE = "close", "Closed a poll"
    REOPEN = "reopen", "Reopened a poll"
    COMMENT_REMOVE = "comment_remove", "Removed a comment"
    REPORT_DISMISS = "report_dismiss", "Dismissed a report"
    MEMBER_REMOVE = "member_remove", "Removed a circle member"


class AuditEntry(models.Model):
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty for Tally itself or a signed-out poll owner.",
    )
    actor_label = models.CharField(
        max_length=150, help_text="Who it was, as they were called then."
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=40)
    object_label = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self):
        return f"{self.actor_label}: {self.get_action_display()} {self.object_label}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit entries are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit entries are never deleted.")
