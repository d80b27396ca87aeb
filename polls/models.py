import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

# Ballot counts live in sharded counter rows: a vote bumps one random shard in its own
# transaction, so concurrent votes rarely wait on the same row and a tally is a small sum.
TALLY_SHARDS = 16
CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
CODE_LENGTH = 10


def new_poll_code() -> str:
    """Return a short random code (about 49 bits), the only identifier a poll shows."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class PollQuerySet(models.QuerySet):
    def public(self):
        """Polls anyone may find: listed, not hidden by moderators, in no circle. Search,
        recent polls and every listing go through this; a single poll's page goes through
        polls.visibility, which also lets its owner and staff see it hidden and a circle's
        members see its polls."""
        return self.filter(listed=True, hidden_at__isnull=True, circle__isnull=True)

    def reachable(self):
        """Polls whose link works for everyone (listed or not): not hidden, in no circle."""
        return self.filter(hidden_at__isnull=True, circle__isnull=True)


class Poll(models.Model):
    class ChoiceType(models.TextChoices):
        SINGLE = "single", "One answer"
        MULTIPLE = "multiple", "Several answers"

    class ResultsVisibility(models.TextChoices):
        ALWAYS = "always", "Always"
        AFTER_VOTE = "after_vote", "After voting"
        AFTER_CLOSE = "after_close", "After the poll closes"

    class Protection(models.TextChoices):
        TOKEN = "token", "One vote per browser"
        TOKEN_IP = "token_ip", "One vote per browser and per network address"
        ACCOUNT = "account", "Signed-in users only, one vote each"

    class VoteChanges(models.TextChoices):
        OFF = "off", "Votes are final"
        ALLOWED = "allowed", "Voters may change or withdraw their vote until it closes"

    code = models.CharField(max_length=16, unique=True, default=new_poll_code, editable=False)
    question = models.CharField(max_length=500)
    description = models.TextField(max_length=2000, blank=True)
    choice_type = models.CharField(
        max_length=10, choices=ChoiceType.choices, default=ChoiceType.SINGLE
    )
    results_visibility = models.CharField(
        max_length=12, choices=ResultsVisibility.choices, default=ResultsVisibility.ALWAYS
    )
    allow_comments = models.BooleanField(default=True)
    protection = models.CharField(
        max_length=10, choices=Protection.choices, default=Protection.TOKEN
    )
    listed = models.BooleanField(default=True, help_text="Public and searchable.")
    vote_changes = models.CharField(
        max_length=8, choices=VoteChanges.choices, default=VoteChanges.OFF
    )
    results_revealed = models.BooleanField(
        default=False, help_text="The owner shows the results to everyone now."
    )
    anonymous = models.BooleanField(
        default=False,
        help_text="Ballots keep no trace of their voter; fixed once the poll has votes.",
    )
    closes_at = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    closed_at = models.DateTimeField(null=True, blank=True)
    question_edited = models.BooleanField(default=False)
    hidden_at = models.DateTimeField(
        null=True, blank=True, help_text="Hidden by moderators: answers 404 to everyone else."
    )
    hidden_reason = models.CharField(
        max_length=300, blank=True, help_text="Shown to the owner while the poll is hidden."
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="polls",
    )
    circle = models.ForeignKey(
        "circles.Circle",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="polls",
        help_text="Only this circle's members see the poll.",
    )
    creator_key = models.CharField(
        max_length=64, blank=True, help_text="Keyed hash of the browser that created it."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PollQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["listed", "-created_at"], name="poll_listed_recent")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(anonymous=True, vote_changes="allowed"),
                name="poll_anonymous_votes_final",
            ),
        ]

    def __str__(self):
        return self.question

    def get_absolute_url(self):
        return reverse("polls:detail", kwargs={"code": self.code})

    @property
    def is_multiple(self) -> bool:
        return self.choice_type == self.ChoiceType.MULTIPLE

    @property
    def allows_vote_changes(self) -> bool:
        return self.vote_changes == self.VoteChanges.ALLOWED

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    def is_closed(self, now=None) -> bool:
        now = now or timezone.now()
        return self.closed_at is not None or (self.closes_at is not None and self.closes_at <= now)


class Option(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="options")
    text = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["poll", "position"], name="option_unique_position"),
        ]

    def __str__(self):
        return self.text


class Ballot(models.Model):
    """One voter's vote on one poll; its choices say which options it picked.

    A ballot of an anonymous poll has no voter key, address, user or time of day: its
    voter is known only to a VoterMark, which in turn holds no choice.
    """

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="ballots")
    # NULL, not "": NULLs never collide in the one-per-voter constraint, so anonymous
    # ballots need no exception to it.
    voter_key = models.CharField(  # noqa: DJ001
        max_length=80,
        null=True,
        blank=True,
        help_text="Keyed hash of the browser or account; empty in an anonymous poll.",
    )
    ip_key = models.CharField(max_length=64, blank=True, help_text="Keyed hash of the address.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    comment = models.TextField(max_length=1000, blank=True)
    comment_removed = models.BooleanField(default=False)
    shard = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The tally shard this ballot is counted in."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["poll", "voter_key"], name="ballot_one_per_voter"),
            models.UniqueConstraint(
                fields=["poll", "ip_key"],
                condition=~Q(ip_key=""),
                name="ballot_one_per_address",
            ),
        ]
        indexes = [
            models.Index(
                fields=["poll", "-created_at"],
                condition=~Q(comment=""),
                name="ballot_comments_recent",
            ),
        ]

    def __str__(self):
        return f"Ballot {self.pk} on {self.poll_id}"


class BallotChoice(models.Model):
    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="choices")
    option = models.ForeignKey(Option, on_delete=models.CASCADE, related_name="choices")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ballot", "option"], name="choice_once_per_ballot"),
        ]

    def __str__(self):
        return f"Ballot {self.ballot_id} chose option {self.option_id}"


class VoterMark(models.Model):
    """This voter has voted in this anonymous poll: the only record of who voted there.

    It names no option and no ballot, and nothing in it follows the order of votes: a
    random key and no time, so no row can be lined up against the poll's ballots.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="voter_marks")
    voter_key = models.CharField(max_length=80, help_text="Keyed hash of the browser or account.")
    ip_key = models.CharField(max_length=64, blank=True, help_text="Keyed hash of the address.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "voter_key"], name="mark_one_per_voter"),
            models.UniqueConstraint(
                fields=["poll", "ip_key"],
                condition=~Q(ip_key=""),
                name="mark_one_per_address",
            ),
        ]

    def __str__(self):
        return f"A voter of poll {self.poll_id}"


class TallyShard(models.Model):
    """A slice of a poll's counts: ballots (option is null) or votes for one option."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="tally_shards")
    option = models.ForeignKey(
        Option, null=True, blank=True, on_delete=models.CASCADE, related_name="tally_shards"
    )
    shard = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["poll", "shard"],
                condition=Q(option__isnull=True),
                name="tally_shard_unique_ballots",
            ),
            models.UniqueConstraint(
                fields=["option", "shard"],
                condition=Q(option__isnull=False),
                name="tally_shard_unique_votes",
            ),
        ]

    def __str__(self):
        return f"Shard {self.shard} of poll {self.poll_id}: {self.count}"


class IdempotentVote(models.Model):
    """The first outcome of a vote sent with an Idempotency-Key, replayed on retries."""

    key = models.CharField(
        max_length=64, unique=True, help_text="Keyed hash of poll, voter and key."
    )
    outcome = models.CharField(max_length=20)
    record = models.JSONField(help_text="The outcome as VoteOutcome.as_record() stores it.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.key


class PollTemplate(models.Model):
    """A ready-made question with its options and settings, to start a poll from.

    The starter set (no owner) is loaded by a data migration; a signed-in owner can save
    any of their polls as a personal template, seen only by them.
    """

    class Category(models.TextChoices):
        TEAM = "team", "Team and work"
        CLASS = "class", "Class and school"
        EVENTS = "events", "Events and plans"
        FEEDBACK = "feedback", "Feedback"
        FUN = "fun", "Fun and icebreakers"
        MINE = "mine", "Saved by you"

    title = models.CharField(max_length=120)
    category = models.CharField(max_length=10, choices=Category.choices)
    question = models.CharField(max_length=500)
    description = models.TextField(max_length=2000, blank=True)
    options = models.JSONField(help_text="The option texts, in order.")
    form_settings = models.JSONField(
        default=dict, blank=True, help_text="Create-form settings, by field name."
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="poll_templates",
        help_text="Empty for the starter set everyone sees.",
    )
    uses = models.PositiveIntegerField(default=0, help_text="Polls created from it.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uses", "title"]
        indexes = [models.Index(fields=["owner", "-uses"], name="template_popular")]

    def __str__(self):
        return self.title
