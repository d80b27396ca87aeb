from django.conf import settings
from django.db import models
from django.db.models import Q


class Kind(models.TextChoices):
    VOTES = "votes", "New votes on your polls"
    COMMENT = "comment", "New comments"
    CLOSED = "closed", "A poll of yours closed"
    ASKED = "asked", "Someone asked one of your polls"
    MODERATED = "moderated", "Moderators hid or restored a poll of yours"


class Notification(models.Model):
    """Something that happened to one of the recipient's polls. Created only by services."""

    class Email(models.TextChoices):
        NONE = "none", "Not wanted"
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        CAPPED = "capped", "Over the daily cap"
        FAILED = "failed", "Could not be sent"
        UNPROVED = "unproved", "The address is not verified"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    poll = models.ForeignKey(
        "polls.Poll", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.CharField(max_length=300)
    url = models.CharField(max_length=200, blank=True)
    in_app = models.BooleanField(default=True, help_text="Shown in the bell and the list.")
    email = models.CharField(max_length=8, choices=Email.choices, default=Email.NONE)
    emailed_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["recipient", "-created_at"],
                condition=Q(in_app=True),
                name="notification_inbox",
            ),
            models.Index(
                fields=["recipient"],
                condition=Q(in_app=True, read_at__isnull=True),
                name="notification_unread",
            ),
            models.Index(
                fields=["created_at"],
                condition=Q(email="pending"),
                name="notification_email_pending",
            ),
        ]

    def __str__(self):
        return self.text

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class Preferences(models.Model):
    """How a user wants to hear about each kind, and when not to be disturbed."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    votes_in_app = models.BooleanField(default=True)
    votes_email = models.BooleanField(default=False)
    comment_in_app = models.BooleanField(default=True)
    comment_email = models.BooleanField(default=False)
    closed_in_app = models.BooleanField(default=True)
    closed_email = models.BooleanField(default=True)
    asked_in_app = models.BooleanField(default=True)
    asked_email = models.BooleanField(default=False)
    moderated_in_app = models.BooleanField(default=True)
    moderated_email = models.BooleanField(default=True)
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    emails_per_day = models.PositiveSmallIntegerField(default=10)
    # The address the user proved is theirs by opening the link sent to it. Nothing but a
    # password reset is emailed to an address until it matches the account's email.
    verified_email = models.EmailField(blank=True)
    email_verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "preferences"

    def __str__(self):
        return f"Notification preferences of {self.user_id}"

    def wants_in_app(self, kind: str) -> bool:
        return getattr(self, f"{kind}_in_app")

    def wants_email(self, kind: str) -> bool:
        return getattr(self, f"{kind}_email")

    def email_is_verified(self, email: str) -> bool:
        return bool(email) and self.verified_email.casefold() == email.casefold()


class VoteBatch(models.Model):
    """How many of a poll's ballots its owner has been told about, and when last.

    Counts come from the poll's tally, which only grows: each notification reports the
    ballots since the last one, so every vote is in exactly one "N new votes".
    """

    poll = models.OneToOneField("polls.Poll", on_delete=models.CASCADE, related_name="+")
    notified_ballots = models.PositiveIntegerField(default=0)
    notified_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Vote batch of poll {self.poll_id}: {self.notified_ballots}"
