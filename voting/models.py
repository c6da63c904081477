"""Voting rounds, their ballots (the ideas on them), voters' ballots and the stored rankings.

Ballot secrecy: a ``Ballot`` links a voter to their entries so that they can
see and change their own vote; nothing outside ``voting/services.py`` and the
voter's own page reads that link. Results, reports and the admin show
aggregates only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ideas.models import Idea
from jams.models import Jam

# The largest value a single ballot entry may carry (budget points per idea).
MAX_ENTRY_VALUE = 1000


class Method(models.TextChoices):
    APPROVAL = "approval", _("Approval: mark up to N ideas")
    RATING = "rating", _("Rating: 1 to 5 stars per idea")
    BUDGET = "budget", _("Budget: spread K points over ideas")
    PAIRWISE = "pairwise", _("Pairwise: pick the better of two ideas, again and again")


class ResultsVisibility(models.TextChoices):
    AFTER_CLOSE = "after_close", _("Hidden until voting closes")
    LIVE = "live", _("Running totals visible to members while voting is open")


class PairOutcome(models.IntegerChoices):
    """A pairwise judgment in half-points for the pair's first (lower-id) idea."""

    SECOND = 0, _("The second idea")
    UNDECIDED = 1, _("Can't decide")
    FIRST = 2, _("The first idea")


class VotingRound(models.Model):
    jam = models.ForeignKey(Jam, on_delete=models.CASCADE, related_name="voting_rounds")
    title = models.CharField(_("title"), max_length=200)
    method = models.CharField(_("method"), max_length=16, choices=Method.choices)
    # Normalized by voting.methods.parameters_clean; frozen once voting opens
    # (the ballot may only be managed before the voting stage).
    parameters = models.JSONField(_("parameters"), default=dict)
    results_visibility = models.CharField(
        _("results visibility"),
        max_length=16,
        choices=ResultsVisibility.choices,
        default=ResultsVisibility.AFTER_CLOSE,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # The live turnout: ballots with at least one entry or judgment, kept by
    # the vote services (the ranking counts the ballots themselves).
    voters = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(method__in=Method.values), name="voting_round_method_known"
            ),
            models.CheckConstraint(
                condition=Q(results_visibility__in=ResultsVisibility.values),
                name="voting_round_visibility_known",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("voting:round", kwargs={"slug": self.jam.slug, "round_id": self.pk})


class BallotItem(models.Model):
    """An idea on a round's ballot."""

    round = models.ForeignKey(VotingRound, on_delete=models.CASCADE, related_name="items")
    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="ballot_items")
    position = models.PositiveIntegerField(default=0)
    # Pairwise exposure: how many distinct (voter, pair) judgments include it.
    comparisons = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["round", "idea"], name="ballot_item_once_per_round"),
        ]

    def __str__(self) -> str:
        return f"{self.round_id}: {self.idea_id}"


class Ballot(models.Model):
    """One voter's ballot in one round; also the per-(round, voter) lock row.

    ``voter`` is set to null when the account is deleted: the vote stays
    counted but is no longer linked to anyone.
    """

    round = models.ForeignKey(VotingRound, on_delete=models.CASCADE, related_name="ballots")
    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Entries (or pairwise judgments) on the ballot; a ballot counts in the
    # turnout while it has at least one.
    size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["round", "voter"], name="ballot_one_per_voter_and_round"
            ),
        ]
        indexes = [models.Index(fields=["round", "size"])]

    def __str__(self) -> str:
        return f"ballot {self.pk} in round {self.round_id}"


class BallotEntry(models.Model):
    """A value given to one idea on one ballot: 1 (approval), stars or points."""

    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="entries")
    round = models.ForeignKey(VotingRound, on_delete=models.CASCADE, related_name="+")
    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="+")
    value = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ballot", "idea"], name="ballot_entry_once_per_idea"),
            models.CheckConstraint(
                condition=Q(value__gte=1, value__lte=MAX_ENTRY_VALUE),
                name="ballot_entry_value_in_range",
            ),
        ]
        indexes = [models.Index(fields=["round", "idea"])]

    def __str__(self) -> str:
        return f"{self.idea_id}={self.value}"


class PairwiseJudgment(models.Model):
    """One voter's judgment of one pair, stored with the lower idea id first."""

    round = models.ForeignKey(VotingRound, on_delete=models.CASCADE, related_name="+")
    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="judgments")
    first_idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="+")
    second_idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="+")
    outcome = models.PositiveSmallIntegerField(choices=PairOutcome.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ballot", "first_idea", "second_idea"],
                name="pairwise_judgment_once_per_pair",
            ),
            models.CheckConstraint(
                condition=Q(first_idea__lt=F("second_idea")),
                name="pairwise_judgment_ordered_pair",
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=PairOutcome.values), name="pairwise_judgment_outcome_known"
            ),
        ]
        indexes = [models.Index(fields=["round"])]

    def __str__(self) -> str:
        return f"{self.first_idea_id} vs {self.second_idea_id}: {self.outcome}"


class RankingResult(models.Model):
    """A round's computed ranking; reports read this, never the ballots."""

    round = models.OneToOneField(VotingRound, on_delete=models.CASCADE, related_name="result")
    method = models.CharField(max_length=16, choices=Method.choices)
    # The parameters the ranking used, including confidence and seed.
    parameters = models.JSONField(default=dict)
    ballots = models.PositiveIntegerField()
    # Ballot entries, or pairwise judgments, behind the ranking.
    entries = models.PositiveIntegerField()
    computed_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["round_id"]

    def __str__(self) -> str:
        return f"ranking of round {self.round_id}"


class RankedIdeaResult(models.Model):
    """One idea's place in a stored ranking, with the tally behind it."""

    result = models.ForeignKey(RankingResult, on_delete=models.CASCADE, related_name="ideas")
    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveIntegerField()
    score = models.FloatField()
    low = models.FloatField()
    high = models.FloatField()
    # The published tally: sum of values (or wins), entries (or comparisons)
    # and the sum of squared values; ``n`` is what the score rests on.
    total = models.FloatField()
    count = models.PositiveIntegerField()
    squares = models.FloatField()
    n = models.PositiveIntegerField()
    tie_group = models.PositiveIntegerField()
    tied_with_previous = models.BooleanField()

    class Meta:
        ordering = ["result", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["result", "idea"], name="ranked_idea_once_per_result"),
            models.UniqueConstraint(fields=["result", "rank"], name="ranked_idea_rank_unique"),
            models.CheckConstraint(
                condition=Q(low__lte=F("high")), name="ranked_idea_interval_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.rank} {self.idea_id}"
