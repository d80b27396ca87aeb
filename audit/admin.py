from django.contrib import admin

from audit.models import AuditEntry
from core.admin import ReadOnlyModelAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyModelAdmin):
    """Read-only: the log can be searched and filtered, never written, edited or pruned."""

    list_display = ["created_at", "actor_label", "action", "object_type", "object_label"]
    list_filter = ["action", "object_type", "created_at"]
    search_fields = ["actor_label", "object_label", "object_id"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in AuditEntry._meta.fields]
