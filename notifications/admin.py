from django.contrib import admin

from notifications.models import Notification, Preferences


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Read-only: notifications are created by services, which also push and email them."""

    list_display = ["text", "recipient", "kind", "in_app", "email", "read_at", "created_at"]
    list_filter = ["kind", "email", "in_app"]
    search_fields = ["text", "recipient__username"]
    raw_id_fields = ["recipient", "poll"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Preferences)
class PreferencesAdmin(admin.ModelAdmin):
    list_display = ["user", "quiet_start", "quiet_end", "timezone", "emails_per_day"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]
