from django.contrib import admin


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """Rows staff may search and read but never add, change or delete in the admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
