"""Admin: read-only views of runs and edits; changes go through the services."""

from django.contrib import admin
from django.http import HttpRequest

from .models import AnalysisRun, PolisImport, ThemeEdit


class ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(AnalysisRun)
class AnalysisRunAdmin(ReadOnly, admin.ModelAdmin[AnalysisRun]):
    list_display = ("id", "jam", "status", "progress", "created_at", "finished_at")
    list_filter = ("status",)


@admin.register(ThemeEdit)
class ThemeEditAdmin(ReadOnly, admin.ModelAdmin[ThemeEdit]):
    list_display = ("id", "jam", "kind", "actor", "created_at")


@admin.register(PolisImport)
class PolisImportAdmin(ReadOnly, admin.ModelAdmin[PolisImport]):
    list_display = ("conversation", "jam", "topic", "created_at")
