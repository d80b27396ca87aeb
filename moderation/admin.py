from django.contrib import admin, messages

from moderation import services
from moderation.models import Report


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """The review queue: open reports first; hide the poll or dismiss, in bulk."""

    list_display = ["created_at", "poll", "reason", "short_details", "status", "reviewed_by"]
    list_filter = ["status", "reason", "created_at"]
    search_fields = ["poll__question", "poll__code", "details"]
    date_hierarchy = "created_at"
    raw_id_fields = ["poll"]
    actions = ["hide_polls", "dismiss"]
    fields = ["poll", "reason", "details", "status", "reviewed_by", "reviewed_at", "created_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("poll", "reviewed_by")

    def has_add_permission(self, request):
        return False

    @admin.display(description="Details")
    def short_details(self, report):
        return report.details[:80]

    @admin.action(description="Hide the reported polls (their owners are told why)")
    def hide_polls(self, request, queryset):
        hidden = services.reports_hide_polls(reports=list(queryset), actor=request.user)
        self.message_user(request, f"Hid {hidden} poll(s).", messages.SUCCESS)

    @admin.action(description="Dismiss the selected reports")
    def dismiss(self, request, queryset):
        dismissed = services.reports_dismiss(reports=list(queryset), actor=request.user)
        self.message_user(request, f"Dismissed {dismissed} report(s).", messages.SUCCESS)
