"""Analysis runs and their results: themes, tone shifts, opinion groups; organizer edits;
what Pol.is imports brought in.

A run's results are written once, in the transaction that marks it done; only
organizer edits (rename, merge, split) change them afterwards, through
analysis.services.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ideas.models import Post
from jams.models import Jam, Topic


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    # Nothing changed since an earlier run: ``reused`` holds the results.
    UNCHANGED = "unchanged", _("Unchanged")


class AnalysisRunQuerySet(models.QuerySet["AnalysisRun"]):
    def done(self) -> AnalysisRunQuerySet:
        return self.filter(status=RunStatus.DONE)

    def pending(self) -> AnalysisRunQuerySet:
        return self.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])


class AnalysisRun(models.Model):
    jam = models.ForeignKey(Jam, on_delete=models.CASCADE, related_name="analysis_runs")
    status = models.CharField(
        max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=32, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    input_hash = models.CharField(max_length=64, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    # Counts (posts, scored posts, participants, votes) and edit outcomes.
    summary = models.JSONField(default=dict, blank=True)
    # The sentiment timeline: {"start", "width", "counts", "means"} (bucketed).
    timeline = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reused = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = AnalysisRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["jam", "status", "-created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="run_progress_at_most_100"),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} of {self.jam_id} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status in (RunStatus.QUEUED, RunStatus.RUNNING)


class Theme(models.Model):
    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="themes")
    number = models.PositiveIntegerField()
    label = models.CharField(max_length=300)
    custom_label = models.CharField(_("label"), max_length=200, blank=True)
    terms = models.JSONField(default=list)
    size = models.PositiveIntegerField(default=0)
    # Mean sentiment of the scored posts; null when none is scored.
    sentiment = models.FloatField(null=True, blank=True)
    # Share of all analysed posts per time bucket: {"start", "width", "values"}.
    share = models.JSONField(default=dict)
    representative_post_ids = models.JSONField(default=list)
    # Mean sentiment of its scored posts per bucket of the run's tone timeline:
    # {"counts": [...], "means": [... or null]}.
    tone = models.JSONField(default=dict)
    # The previous run's theme this one carries on (analysis.pipeline.theme_lineage
    # over both runs' final assignments, organizer edits included); null for a
    # theme that is new, and on a jam's first run.
    continues = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # An organizer's "keep this theme as it is": the next run keeps its posts
    # together (new posts may join), its label, and this flag; organizer edits
    # are not re-applied to it (analysis.pipeline.find_themes ``pinned``).
    pinned = models.BooleanField(_("pinned"), default=False)

    class Meta:
        ordering = ["run", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="theme_number_unique_in_run"),
        ]

    def __str__(self) -> str:
        return self.display_label

    @property
    def display_label(self) -> str:
        return self.custom_label or self.label


class PostTheme(models.Model):
    """Which theme a post is in, per run (posts without content words have no row)."""

    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")
    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="assignments")
    # The theme the pipeline put the post in (its ``number``), before organizer
    # edits moved it: what the next run starts its themes from.
    computed_number = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "post"], name="post_theme_one_per_run"),
        ]

    def __str__(self) -> str:
        return f"{self.post_id} in {self.theme_id}"


class ToneShift(models.Model):
    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="shifts")
    at = models.DateTimeField()
    before = models.FloatField()
    after = models.FloatField()
    # Scored posts just after the shift that lean furthest in its direction.
    post_ids = models.JSONField(default=list)

    class Meta:
        ordering = ["run", "at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.before:+.2f} -> {self.after:+.2f}"


class OpinionGroup(models.Model):
    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="groups")
    number = models.PositiveIntegerField()
    size = models.PositiveIntegerField()
    # [{"post", "direction", "group_rate", "other_rate"}], strongest first.
    representative = models.JSONField(default=list)
    # Run-wide, the same for every group of the run (as in Pol.is).
    consensus_post_ids = models.JSONField(default=list)
    divisive_post_ids = models.JSONField(default=list)

    class Meta:
        ordering = ["run", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="group_number_unique_in_run"),
        ]

    def __str__(self) -> str:
        return f"group {self.number} ({self.size})"

    @property
    def representative_post_ids(self) -> list[int]:
        return [int(item["post"]) for item in self.representative]


class GroupMember(models.Model):
    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(OpinionGroup, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "user"], name="group_member_one_per_run"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.group_id}"


class EditKind(models.TextChoices):
    RENAME = "rename", _("Rename")
    MERGE = "merge", _("Merge")
    SPLIT = "split", _("Split")


class ThemeEdit(models.Model):
    """An organizer's edit, re-applied to every later run (see docs/analysis.md).

    ``data`` holds a signature of each theme it refers to (top terms and a
    sample of member post ids), so the edit can find "the same" theme again.
    """

    jam = models.ForeignKey(Jam, on_delete=models.CASCADE, related_name="theme_edits")
    kind = models.CharField(max_length=8, choices=EditKind.choices)
    data = models.JSONField(default=dict)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} in {self.jam_id}"


class PolisImport(models.Model):
    """One Pol.is conversation imported into a jam's topic."""

    jam = models.ForeignKey(Jam, on_delete=models.CASCADE, related_name="polis_imports")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="+")
    conversation = models.CharField(max_length=100)
    url = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    counts = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["jam", "conversation"], name="polis_import_once_per_jam"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.conversation} -> {self.jam_id}"


class PolisParticipant(models.Model):
    """The Pol.is participant an imported account stands for."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="polis_participant"
    )
    conversation = models.CharField(max_length=100)
    participant_id = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "participant_id"], name="polis_participant_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.conversation}/{self.participant_id}"
