from django.contrib import admin

from .models import Flag, Idea, Post, Reaction


@admin.register(Idea)
class IdeaAdmin(admin.ModelAdmin[Idea]):
    list_display = ("title", "jam", "topic", "author", "reply_count", "created_at")
    list_filter = ("jam",)
    search_fields = ("title",)
    readonly_fields = [f.name for f in Idea._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(Post)
class PostAdmin(admin.ModelAdmin[Post]):
    list_display = ("id", "jam", "idea", "author", "created_at", "hidden_at")
    list_filter = ("jam",)
    readonly_fields = [f.name for f in Post._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False


admin.site.register(Reaction)
admin.site.register(Flag)
