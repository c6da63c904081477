"""Admin: read-only, and aggregates only. Ballots, entries and judgments (who
voted what) are deliberately not registered."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import BallotItem, RankedIdeaResult, RankingResult, VotingRound


class ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class BallotItemInline(ReadOnly, admin.TabularInline[BallotItem, VotingRound]):
    model = BallotItem
    extra = 0
    fields = ("idea", "position", "comparisons")
    readonly_fields = fields


@admin.register(VotingRound)
class VotingRoundAdmin(ReadOnly, admin.ModelAdmin[VotingRound]):
    list_display = ("title", "jam", "method", "voters", "created_at")
    list_filter = ("method",)
    readonly_fields = ("jam", "title", "method", "parameters", "results_visibility", "voters")
    inlines = [BallotItemInline]


class RankedIdeaInline(ReadOnly, admin.TabularInline[RankedIdeaResult, RankingResult]):
    model = RankedIdeaResult
    extra = 0
    fields = ("rank", "idea", "score", "low", "high", "total", "n", "tied_with_previous")
    readonly_fields = fields


@admin.register(RankingResult)
class RankingResultAdmin(ReadOnly, admin.ModelAdmin[RankingResult]):
    list_display = ("round", "method", "ballots", "entries", "computed_at", "duration_ms")
    readonly_fields = ("round", "method", "parameters", "ballots", "entries", "computed_at")
    inlines = [RankedIdeaInline]
