"""Admin: read-mostly. Domain changes go through the services (console pages)."""

from django.contrib import admin

from .models import AuditEntry, Jam, Membership, Phase, Topic


class PhaseInline(admin.TabularInline[Phase, Jam]):
    model = Phase
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "starts_at", "ends_at")

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Jam)
class JamAdmin(admin.ModelAdmin[Jam]):
    list_display = ("title", "slug", "visibility", "created_at")
    search_fields = ("title", "slug")
    readonly_fields = ("slug", "created_by", "created_at", "results_published_at", "last_seq")
    inlines = [PhaseInline]


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin[Topic]):
    list_display = ("title", "jam", "position")
    list_filter = ("jam",)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ("user", "jam", "role", "joined_at")
    list_filter = ("jam", "role")
    search_fields = ("user__email",)
    readonly_fields = ("jam", "user", "role", "joined_at")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    list_display = ("created_at", "jam", "actor_label", "action", "target")
    list_filter = ("jam", "action")
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
