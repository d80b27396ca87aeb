"""Polls in the admin, as a moderator needs them: find, read, hide and restore.

Edits go through the site's own forms (their services keep tallies and live pages right),
so a poll's fields are read-only here; hiding and restoring are actions, audited.
"""

from django.contrib import admin, messages
from django.db.models import Count

from core.admin import ReadOnlyModelAdmin
from polls.models import Ballot, Option, Poll, PollTemplate, VoterMark
from polls.services.hiding import poll_hide, poll_restore


class OptionInline(admin.TabularInline):
    model = Option
    fields = ["position", "text"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class HiddenFilter(admin.SimpleListFilter):
    title = "moderation"
    parameter_name = "hidden"

    def lookups(self, request, model_admin):
        return [("yes", "Hidden"), ("no", "Visible")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(hidden_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(hidden_at__isnull=True)
        return queryset


@admin.register(Poll)
class PollAdmin(admin.ModelAdmin):
    list_display = [
        "question",
        "code",
        "owner",
        "circle",
        "listed",
        "votes",
        "reports",
        "is_open",
        "hidden_at",
    ]
    list_filter = [
        HiddenFilter,
        "listed",
        ("circle", admin.EmptyFieldListFilter),
        "anonymous",
        "protection",
        "results_visibility",
        "created_at",
    ]
    search_fields = ["question", "description", "code", "owner__username", "circle__name"]
    date_hierarchy = "created_at"
    inlines = [OptionInline]
    actions = ["hide_polls", "restore_polls"]
    readonly_fields = [field.name for field in Poll._meta.fields if field.name not in ("id",)]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("owner", "circle")
            .annotate(ballot_count=Count("ballots", distinct=True))
            .annotate(report_count=Count("reports", distinct=True))
        )

    def has_add_permission(self, request):
        return False

    @admin.display(description="Votes", ordering="ballot_count")
    def votes(self, poll):
        return poll.ballot_count

    @admin.display(description="Reports", ordering="report_count")
    def reports(self, poll):
        return poll.report_count

    @admin.display(description="Open", boolean=True)
    def is_open(self, poll):
        return not poll.is_closed()

    @admin.action(description="Hide the selected polls (their owners are told)")
    def hide_polls(self, request, queryset):
        hidden = sum(
            poll_hide(poll=poll, reason="It breaks the site's rules.", actor=request.user)
            for poll in queryset
        )
        self.message_user(request, f"Hid {hidden} poll(s).", messages.SUCCESS)

    @admin.action(description="Restore the selected hidden polls")
    def restore_polls(self, request, queryset):
        restored = sum(poll_restore(poll=poll, actor=request.user) for poll in queryset)
        self.message_user(request, f"Restored {restored} poll(s).", messages.SUCCESS)


@admin.register(Ballot)
class BallotAdmin(ReadOnlyModelAdmin):
    """Comments, for moderators to find; a ballot's voter is a keyed hash, never shown."""

    list_display = ["poll", "short_comment", "comment_removed", "created_at"]
    list_filter = ["comment_removed", "created_at"]
    search_fields = ["comment", "poll__question", "poll__code"]
    fields = ["poll", "comment", "comment_removed", "created_at"]
    readonly_fields = fields
    raw_id_fields = ["poll"]

    @admin.display(description="Comment")
    def short_comment(self, ballot):
        return ballot.comment[:80]


@admin.register(VoterMark)
class VoterMarkAdmin(ReadOnlyModelAdmin):
    """Who has voted in anonymous polls, as keyed hashes: how many per poll, never a choice."""

    list_display = ["poll", "id"]
    search_fields = ["poll__question", "poll__code"]
    fields = ["poll", "voter_key", "ip_key"]
    readonly_fields = fields
    raw_id_fields = ["poll"]


@admin.register(PollTemplate)
class PollTemplateAdmin(admin.ModelAdmin):
    list_display = ["title", "category", "owner", "uses", "created_at"]
    list_filter = ["category", ("owner", admin.EmptyFieldListFilter)]
    search_fields = ["title", "question"]
    raw_id_fields = ["owner"]
