from django.contrib import admin

from circles.models import Circle, Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]
    fields = ["user", "role", "joined_at"]
    readonly_fields = ["joined_at"]


@admin.register(Circle)
class CircleAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_by", "member_total", "max_members", "created_at"]
    list_filter = ["created_at", "invite_expires_at"]
    search_fields = ["name", "slug", "description", "created_by__username"]
    raw_id_fields = ["created_by"]
    readonly_fields = ["invite_code", "created_at"]
    inlines = [MembershipInline]

    @admin.display(description="Members")
    def member_total(self, circle):
        return circle.memberships.count()


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "circle", "role", "joined_at"]
    list_filter = ["role", "joined_at"]
    search_fields = ["user__username", "user__email", "circle__name", "circle__slug"]
    raw_id_fields = ["user", "circle"]
    list_select_related = ["user", "circle"]
