"""Writes for the analysis: queue, run and persist an analysis; organizer edits to themes.

Analysis never runs inside a request or a consumer. A page queues a run
(``analysis_request``), and a worker executes it: the django.tasks task in
analysis/tasks.py, or ``manage.py run_analysis_worker``, which claims queued
rows with ``select_for_update(skip_locked=True)``. ``analysis_run`` runs one
directly (``manage.py analyze_jam``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from analysis.pipeline.groups import OpinionGroupsResult, find_opinion_groups
from analysis.pipeline.shifts import (
    ShiftResult,
    ToneBuckets,
    choose_bucket_width,
    detect_tone_shifts,
)
from analysis.pipeline.text import distinct_by_text
from analysis.pipeline.themes import ThemeResult, find_themes, theme_lineage
from ideas.search import NO_WORDS, ParsedQuery, words_order
from jams import realtime
from jams.errors import Invalid
from jams.models import Jam
from jams.rules import Action, jam_require
from jams.selectors import jam_context_for
from jams.services import audit_append

from . import selectors
from .models import (
    AnalysisRun,
    EditKind,
    GroupMember,
    OpinionGroup,
    PostTheme,
    RunStatus,
    Theme,
    ThemeEdit,
    ToneShift,
)

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from accounts.models import User
    from ideas.models import Post

Progress = Callable[[int, str], None]
SIGNATURE_MEMBERS = 200
MATCH_MIN_SHARE = 1 / 3
MATCH_MIN_TERMS = 0.3
SHIFT_ILLUSTRATIONS = 3
"""Posts shown for a tone shift: those leaning furthest its way, texts distinct."""
PROGRESS_EVERY_SECONDS = 1.0
"""Least time between two progress events inside a stage (a stage's start always
sends one)."""


def _require(jam: Jam, actor: User | None) -> None:
    """Permission for people; ``actor=None`` is the system (worker, operator command)."""
    if actor is not None:
        jam_require(jam_context_for(jam=jam, user=actor), Action.RUN_ANALYSIS)


THEMES_MIN, THEMES_MAX = 2, 30
"""The number of themes an organizer may ask for."""


def _parameters(k: int | None) -> dict[str, Any]:
    if k is not None and not THEMES_MIN <= k <= THEMES_MAX:
        raise Invalid(
            _("The number of themes must be between %(low)d and %(high)d, or left empty.")
            % {"low": THEMES_MIN, "high": THEMES_MAX}
        )
    return {"k": k}


# --- Queue -------------------------------------------------------------------


def analysis_request(
    *, actor: User | None, jam: Jam, k: int | None = None, force: bool = False
) -> AnalysisRun:
    """Queue a run (or return the one already queued or running) and enqueue its task
    after commit. With Django's dummy task backend the worker command executes it."""
    _require(jam, actor)
    with transaction.atomic():
        pending = selectors.run_pending(jam=jam)
        if pending is not None:
            return pending
        run = AnalysisRun.objects.create(
            jam=jam,
            status=RunStatus.QUEUED,
            parameters=_parameters(k),
            summary={"force": force},
            requested_by=actor,
        )
        audit_append(
            jam=jam,
            actor=actor,
            action="analysis.requested",
            target=f"run {run.pk}",
            data={"k": k, "force": force},
        )
        _record_progress(run)
        transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def _enqueue(run_id: int) -> None:
    from .tasks import analysis_execute_task

    analysis_execute_task.enqueue(run_id)


def analysis_execute(*, run_id: int, progress: Progress | None = None) -> AnalysisRun | None:
    """Execute a queued run if nobody has claimed it yet (the task's body)."""
    now = timezone.now()
    claimed = AnalysisRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=now
    )
    if not claimed:
        return None
    run = AnalysisRun.objects.select_related("jam").get(pk=run_id)
    return _execute(run, force=bool(run.summary.get("force")), progress=progress)


def run_claim_next() -> AnalysisRun | None:
    """The oldest queued run, marked running; concurrent workers skip each other's rows."""
    with transaction.atomic():
        run = (
            AnalysisRun.objects.select_for_update(skip_locked=True)
            .filter(status=RunStatus.QUEUED)
            .order_by("created_at", "id")
            .first()
        )
        if run is None:
            return None
        run.status, run.started_at = RunStatus.RUNNING, timezone.now()
        run.save(update_fields=["status", "started_at"])
    return AnalysisRun.objects.select_related("jam").get(pk=run.pk)


def run_claimed_execute(*, run: AnalysisRun, progress: Progress | None = None) -> AnalysisRun:
    """Execute a run the caller claimed with ``run_claim_next``."""
    return _execute(run, force=bool(run.summary.get("force")), progress=progress)


def analysis_queue_live(*, now: datetime | None = None, every: timedelta) -> list[AnalysisRun]:
    """Queue a run for each live jam (discussion, curation, voting) whose newest run is
    older than ``every``; unchanged inputs make such a run cheap (it is skipped). The
    number of themes is the latest done run's: an organizer's choice holds."""
    from jams.phases import jam_state
    from jams.rules import LIVE

    now = now or timezone.now()
    live = [
        jam
        for jam in Jam.objects.prefetch_related("phases")
        if jam_state(
            [p.window() for p in jam.phases.all()],
            published_at=jam.results_published_at,
            now=now,
        ).stage
        in LIVE
    ]
    due = selectors.live_jams_due(jams=live, now=now, every=every)
    return [analysis_request(actor=None, jam=jam, k=_chosen_k(jam)) for jam in due]


def _chosen_k(jam: Jam) -> int | None:
    latest = selectors.run_latest_done(jam=jam)
    return None if latest is None else latest.parameters.get("k")


# --- Run ---------------------------------------------------------------------


def analysis_run(
    *,
    jam: Jam,
    actor: User | None = None,
    k: int | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> AnalysisRun:
    """Run the analysis now, in this process, and return the run holding the results:
    a new run, or the earlier one when nothing changed since (unless ``force``)."""
    _require(jam, actor)
    run = AnalysisRun.objects.create(
        jam=jam,
        status=RunStatus.RUNNING,
        parameters=_parameters(k),
        summary={"force": force},
        requested_by=actor,
        started_at=timezone.now(),
    )
    return _execute(run, force=force, progress=progress)


def _execute(run: AnalysisRun, *, force: bool, progress: Progress | None) -> AnalysisRun:
    timings: dict[str, float] = {}
    last_step = time.monotonic()

    def step(percent: int, stage: str) -> None:
        nonlocal last_step
        run.progress, run.stage = percent, stage
        with transaction.atomic():
            AnalysisRun.objects.filter(pk=run.pk).update(progress=percent, stage=stage)
            _record_progress(run)
        last_step = time.monotonic()
        if progress is not None:
            progress(percent, stage)

    def themes_progress(done: float) -> None:
        percent = min(59, 15 + int(45 * done))  # 60: the next stage
        if percent > run.progress and time.monotonic() - last_step >= PROGRESS_EVERY_SECONDS:
            step(percent, "themes")

    try:
        step(5, "loading")
        started = time.perf_counter()
        inputs = selectors.analysis_inputs(jam=run.jam)
        timings["load"] = time.perf_counter() - started
        previous = None
        if not force:
            previous = selectors.run_reusable(
                jam=run.jam, input_hash=inputs.input_hash, parameters=run.parameters
            )
        if previous is not None:
            return _unchanged(run, previous, inputs.input_hash, timings, progress)
        started = time.perf_counter()
        before = selectors.previous_themes(jam=run.jam)
        earlier = (
            None if before is None else [before.computed.get(pk, -1) for pk in inputs.post_ids]
        )
        timings["load"] += time.perf_counter() - started
        step(15, "themes")
        started = time.perf_counter()
        themes = find_themes(
            inputs.texts,
            k=run.parameters.get("k"),
            previous=earlier,
            pinned=None if before is None else before.pinned_keys(inputs.post_ids),
            progress=themes_progress,
        )
        timings["themes"] = time.perf_counter() - started
        step(60, "shifts")
        started = time.perf_counter()
        shifts = detect_tone_shifts(
            inputs.created_at, inputs.sentiments, n_illustrations=4 * SHIFT_ILLUSTRATIONS
        )
        timings["shifts"] = time.perf_counter() - started
        step(70, "groups")
        started = time.perf_counter()
        groups = find_opinion_groups(inputs.votes, moderated_out=inputs.moderated_statements)
        timings["groups"] = time.perf_counter() - started
        step(90, "saving")
        started = time.perf_counter()
        with transaction.atomic():
            _persist(run, inputs, themes, shifts, groups, {} if before is None else before.pinned)
            edits = _reapply_edits(run)
            continued = _link_to_previous(run, before)
            timings["save"] = time.perf_counter() - started
            run.status, run.progress, run.stage = RunStatus.DONE, 100, "done"
            run.input_hash = inputs.input_hash
            run.timings = {name: round(seconds, 3) for name, seconds in timings.items()}
            run.summary = {
                **run.summary,
                **inputs.counts,
                "k": themes.k,
                "edits": edits,
                "previous_run": None if before is None else before.run.pk,
                "themes_seeded": themes.seeded,
                "themes_continued": continued,
            }
            run.finished_at = timezone.now()
            run.save(
                update_fields=[
                    "status", "progress", "stage", "input_hash", "timings", "summary",
                    "finished_at", "timeline",
                ]
            )  # fmt: skip
            _record_ready(run, run)
    except Exception as exc:
        _failed(run, exc)
        raise
    if progress is not None:
        progress(100, "done")
    return run


def _unchanged(
    run: AnalysisRun,
    previous: AnalysisRun,
    input_hash: str,
    timings: dict[str, float],
    progress: Progress | None,
) -> AnalysisRun:
    with transaction.atomic():
        run.status, run.progress, run.stage = RunStatus.UNCHANGED, 100, "unchanged"
        run.reused, run.input_hash = previous, input_hash
        run.timings = {name: round(seconds, 3) for name, seconds in timings.items()}
        run.finished_at = timezone.now()
        run.save(
            update_fields=[
                "status", "progress", "stage", "reused", "input_hash", "timings", "finished_at",
            ]
        )  # fmt: skip
        _record_ready(run, previous)
    if progress is not None:
        progress(100, "unchanged")
    return previous


def _failed(run: AnalysisRun, exc: BaseException) -> None:
    with transaction.atomic():
        run.status, run.error = RunStatus.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        _record_progress(run)


def _record_progress(run: AnalysisRun) -> None:
    realtime.event_record(
        jam_id=run.jam_id,
        name="analysis.progress",
        data=selectors.run_status_payload(run),
    )


def _record_ready(run: AnalysisRun, results: AnalysisRun) -> None:
    realtime.event_record(
        jam_id=run.jam_id,
        name="analysis.ready",
        data={
            "run": run.pk,
            "results": results.pk,
            "status": run.status,
            "themes": results.themes.count(),
            "groups": results.groups.count(),
        },
    )


# --- Persisting results ------------------------------------------------------


@dataclass(frozen=True)
class _ShareGrid:
    start: float
    width: float
    totals: np.ndarray

    def bucket_of(self, seconds: np.ndarray) -> np.ndarray:
        index = np.floor((seconds - self.start) / self.width).astype(np.int64)
        return np.clip(index, 0, len(self.totals) - 1)

    def shares(self, seconds: np.ndarray) -> dict[str, Any]:
        counts = np.bincount(self.bucket_of(seconds), minlength=len(self.totals))
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.where(self.totals > 0, counts / np.maximum(self.totals, 1), 0.0)
        return {
            "start": datetime.fromtimestamp(self.start, tz=UTC).isoformat(),
            "width": self.width,
            "values": [round(float(v), 4) for v in values],
        }

    def payload(self) -> dict[str, Any]:
        return {"start": self.start, "width": self.width, "totals": self.totals.tolist()}

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> _ShareGrid:
        return cls(float(data["start"]), float(data["width"]), np.array(data["totals"]))

    @classmethod
    def over(cls, seconds: np.ndarray) -> _ShareGrid:
        if len(seconds) == 0:
            return cls(0.0, 3600.0, np.zeros(1))
        first, last = float(seconds.min()), float(seconds.max())
        width = choose_bucket_width(timedelta(seconds=last - first)).total_seconds()
        start = math.floor(first / width) * width
        n = int((last - start) // width) + 1
        grid = cls(start, width, np.zeros(n))
        return cls(start, width, np.bincount(grid.bucket_of(seconds), minlength=n).astype(float))


@dataclass(frozen=True)
class _ToneGrid:
    """The buckets of a run's tone timeline, for the tone of a part of the posts."""

    start: float
    width: float
    n: int

    @classmethod
    def of(cls, buckets: ToneBuckets) -> _ToneGrid:
        return cls(buckets.start.timestamp(), buckets.width.total_seconds(), len(buckets.counts))

    @classmethod
    def from_timeline(cls, timeline: dict[str, Any]) -> _ToneGrid:
        if not timeline.get("counts"):
            return cls(0.0, 3600.0, 0)
        start = datetime.fromisoformat(timeline["start"]).timestamp()
        return cls(start, float(timeline["width"]), len(timeline["counts"]))

    def series(self, seconds: np.ndarray, sentiment: np.ndarray) -> dict[str, Any]:
        """Scored posts and their mean sentiment per bucket (null where none)."""
        scored = ~np.isnan(sentiment)
        if self.n == 0:
            return {"counts": [], "means": []}
        index = np.floor((seconds[scored] - self.start) / self.width).astype(np.int64)
        index = np.clip(index, 0, self.n - 1)
        counts = np.bincount(index, minlength=self.n)
        sums = np.bincount(index, weights=sentiment[scored], minlength=self.n)
        return {
            "counts": [int(c) for c in counts],
            "means": [
                round(float(t / c), 4) if c else None for t, c in zip(sums, counts, strict=True)
            ],
        }


def _topic_tones(
    tone: _ToneGrid, topics: np.ndarray, seconds: np.ndarray, sentiment: np.ndarray
) -> list[dict[str, Any]]:
    """Tone over time per topic, the topic with most scored posts first."""
    rows = []
    for topic in np.unique(topics):
        members = topics == topic
        scored = sentiment[members][~np.isnan(sentiment[members])]
        series = tone.series(seconds[members], sentiment[members])
        rows.append(
            {
                "topic": int(topic),
                "posts": int(members.sum()),
                "scored": len(scored),
                "sentiment": round(float(scored.mean()), 4) if len(scored) else None,
                **series,
            }
        )
    return sorted(rows, key=lambda row: (-row["scored"], row["topic"]))


def _mean_or_none(values: np.ndarray) -> float | None:
    scored = values[~np.isnan(values)]
    return float(scored.mean()) if len(scored) else None


def _persist(
    run: AnalysisRun,
    inputs: selectors.AnalysisInputs,
    themes: ThemeResult,
    shifts: ShiftResult,
    groups: OpinionGroupsResult,
    pinned: dict[int, Theme],
) -> None:
    """Store a run's results; a theme kept from a pinned one (``pinned``, by id)
    keeps its label and stays pinned."""
    post_ids = np.array(inputs.post_ids, dtype=np.int64)
    seconds = np.array([moment.timestamp() for moment in inputs.created_at], dtype=np.float64)
    sentiment = np.array([np.nan if s is None else s for s in inputs.sentiments], dtype=np.float64)
    assigned = themes.assignments >= 0
    grid = _ShareGrid.over(seconds[assigned])
    tone = _ToneGrid.of(shifts.buckets)
    rows = []
    for theme in themes.themes:
        members = themes.assignments == theme.id
        kept = None if theme.pinned is None else pinned[theme.pinned]
        rows.append(
            Theme(
                run=run,
                number=theme.id,
                label=theme.label[:300] if kept is None else kept.label,
                custom_label="" if kept is None else kept.custom_label,
                pinned=kept is not None,
                terms=list(theme.terms),
                size=theme.size,
                sentiment=_mean_or_none(sentiment[members]),
                share=grid.shares(seconds[members]),
                representative_post_ids=[int(post_ids[i]) for i in theme.representative_indices],
                tone=tone.series(seconds[members], sentiment[members]),
            )
        )
    created = Theme.objects.bulk_create(rows)
    theme_pk = {theme.number: theme.pk for theme in created}
    PostTheme.objects.bulk_create(
        (
            PostTheme(
                run=run,
                post_id=int(post_ids[i]),
                theme_id=theme_pk[int(number)],
                computed_number=int(number),
            )
            for i, number in zip(
                np.flatnonzero(assigned), themes.assignments[assigned], strict=True
            )
        ),
        batch_size=2000,
    )
    ToneShift.objects.bulk_create(
        ToneShift(
            run=run,
            at=shift.at,
            before=shift.before_mean,
            after=shift.after_mean,
            post_ids=[
                int(post_ids[i])
                for i in distinct_by_text(inputs.texts, shift.post_indices, SHIFT_ILLUSTRATIONS)
            ],
        )
        for shift in shifts.shifts
    )
    buckets = shifts.buckets
    run.timeline = {
        "start": buckets.start.isoformat(),
        "width": buckets.width.total_seconds(),
        "counts": [int(c) for c in buckets.counts],
        "means": [None if math.isnan(m) else round(float(m), 4) for m in buckets.means],
        "share": grid.payload(),
        "topics": _topic_tones(tone, np.array(inputs.topic_ids), seconds, sentiment),
    }
    _persist_groups(run, inputs, groups)


def _persist_groups(
    run: AnalysisRun, inputs: selectors.AnalysisInputs, groups: OpinionGroupsResult
) -> None:
    statement_post = inputs.statement_post_ids
    consensus = [statement_post[s] for s in groups.consensus]
    divisive = [statement_post[s] for s in groups.divisive]
    created = OpinionGroup.objects.bulk_create(
        OpinionGroup(
            run=run,
            number=group.id,
            size=len(group.members),
            representative=[
                {
                    "post": statement_post[stance.statement],
                    "direction": stance.direction,
                    "group_rate": round(stance.group_rate, 4),
                    "other_rate": round(stance.other_rate, 4),
                }
                for stance in group.representative
            ],
            consensus_post_ids=consensus,
            divisive_post_ids=divisive,
        )
        for group in groups.groups
    )
    group_pk = {group.number: group.pk for group in created}
    GroupMember.objects.bulk_create(
        (
            GroupMember(run=run, group_id=group_pk[number], user_id=inputs.participant_ids[i])
            for i, number in enumerate(groups.assignments)
            if number is not None
        ),
        batch_size=2000,
    )


def _link_to_previous(run: AnalysisRun, before: selectors.PreviousThemes | None) -> int:
    """Point each theme at the previous run's theme it continues, both as the
    organizer sees them (edits applied); returns how many continue one."""
    if before is None:
        return 0
    rows = list(PostTheme.objects.filter(run=run).values_list("post_id", "theme_id"))
    lineage = theme_lineage(
        np.array([theme for _, theme in rows], dtype=np.int64),
        np.array([before.final.get(post, -1) for post, _ in rows], dtype=np.int64),
    )
    themes = list(Theme.objects.filter(run=run, pk__in=lineage))
    for theme in themes:
        theme.continues_id = lineage[theme.pk]
    Theme.objects.bulk_update(themes, ["continues"])
    return len(themes)


# --- Theme edits -------------------------------------------------------------


def _signature(theme: Theme) -> dict[str, Any]:
    """What identifies a theme across runs: its top terms and a sample of its posts."""
    members = selectors.theme_post_ids(theme=theme)
    if len(members) > SIGNATURE_MEMBERS:
        picks = np.linspace(0, len(members) - 1, SIGNATURE_MEMBERS).round().astype(int)
        members = [members[i] for i in sorted(set(picks.tolist()))]
    return {"terms": list(theme.terms[:5]), "members": members, "label": theme.display_label}


def _members_by_theme(run: AnalysisRun) -> dict[int, set[int]]:
    members: dict[int, set[int]] = {}
    for theme_id, post_id in PostTheme.objects.filter(run=run).values_list("theme_id", "post_id"):
        members.setdefault(theme_id, set()).add(post_id)
    return members


def theme_match(
    signature: dict[str, Any], themes: Sequence[Theme], members: dict[int, set[int]]
) -> Theme | None:
    """The theme of a run that is "the same" as the one a signature describes.

    The theme holding most of the signature's sampled posts that are still in
    the run, if it holds at least a third of them (a theme that fell apart
    keeps its name on its largest piece); when none of those posts is in the
    run any more, the theme whose top terms overlap most (Jaccard >= 0.3).
    """
    if not themes:
        return None
    in_run = set().union(*members.values()) if members else set()
    sample = set(signature.get("members", [])) & in_run
    if sample:
        best = max(themes, key=lambda t: (len(sample & members.get(t.pk, set())), -t.number))
        share = len(sample & members.get(best.pk, set())) / len(sample)
        return best if share >= MATCH_MIN_SHARE else None
    terms = set(signature.get("terms", []))

    def jaccard(theme: Theme) -> float:
        other = set(theme.terms[:5])
        return len(terms & other) / len(terms | other) if terms | other else 0.0

    best = max(themes, key=lambda t: (jaccard(t), -t.number))
    return best if jaccard(best) >= MATCH_MIN_TERMS else None


def _apply_edit(run: AnalysisRun, edit: ThemeEdit) -> bool:
    """Apply one edit to ``run``; False when its themes cannot be found there, or
    one of them is pinned (kept as it is, earlier edits included)."""
    themes = list(Theme.objects.filter(run=run))
    members = _members_by_theme(run)
    if edit.kind == EditKind.RENAME:
        theme = theme_match(edit.data["theme"], themes, members)
        if theme is None or theme.pinned:
            return False
        theme.custom_label = edit.data["label"]
        theme.save(update_fields=["custom_label"])
        return True
    if edit.kind == EditKind.MERGE:
        matched: list[Theme] = []
        for signature in edit.data["themes"]:
            theme = theme_match(signature, themes, members)
            if theme is not None and theme not in matched:
                matched.append(theme)
        if not matched or any(theme.pinned for theme in matched):
            return False
        _merge(run, matched, edit.data.get("label", ""))
        return True
    if edit.kind == EditKind.SPLIT:
        theme = theme_match(edit.data["theme"], themes, members)
        return theme is not None and not theme.pinned and _split(run, theme)
    return False


def _reapply_edits(run: AnalysisRun) -> list[dict[str, Any]]:
    return [
        {"edit": edit.pk, "kind": edit.kind, "applied": _apply_edit(run, edit)}
        for edit in ThemeEdit.objects.filter(jam_id=run.jam_id).order_by("created_at", "id")
    ]


def _grid(run: AnalysisRun) -> _ShareGrid:
    share = run.timeline.get("share")
    if share:
        return _ShareGrid.from_payload(share)
    return _ShareGrid(0.0, 3600.0, np.zeros(1))


def _refresh(run: AnalysisRun, theme: Theme) -> None:
    """Size, sentiment and share over time of a theme whose posts changed."""
    posts = selectors.theme_posts(theme=theme)
    seconds = np.array([created.timestamp() for _, _, created, _ in posts], dtype=np.float64)
    sentiment = np.array([np.nan if s is None else s for _, _, _, s in posts], dtype=np.float64)
    theme.size = len(posts)
    theme.sentiment = _mean_or_none(sentiment)
    theme.share = _grid(run).shares(seconds)
    theme.tone = _ToneGrid.from_timeline(run.timeline).series(seconds, sentiment)
    theme.save(update_fields=["size", "sentiment", "share", "label", "terms",
                              "representative_post_ids", "tone"])  # fmt: skip


def _merge(run: AnalysisRun, themes: list[Theme], label: str) -> Theme:
    keep, others = themes[0], themes[1:]
    if others:
        PostTheme.objects.filter(theme__in=others).update(theme=keep)
        keep.label = " + ".join(t.label for t in themes)[:300]
        keep.terms = list(dict.fromkeys(term for t in themes for term in t.terms))[:10]
        keep.representative_post_ids = [pk for t in themes for pk in t.representative_post_ids[:2]][
            :5
        ]
        Theme.objects.filter(pk__in=[t.pk for t in others]).delete()
        _refresh(run, keep)
    if label:
        keep.custom_label = label
        keep.save(update_fields=["custom_label"])
    return keep


def _split(run: AnalysisRun, theme: Theme) -> bool:
    """Split a theme in two by clustering its own posts (deterministic, k=2)."""
    posts = selectors.theme_posts(theme=theme)
    if len(posts) < 4:
        return False
    result = find_themes([text for _, text, _, _ in posts], k=2, k_range=(2, 2))
    if len(result.themes) < 2:
        return False
    ids = [pk for pk, _, _, _ in posts]
    first, second = result.themes[0], result.themes[1]
    number = (Theme.objects.filter(run=run).order_by("-number").first() or theme).number + 1
    new = Theme.objects.create(
        run=run,
        number=number,
        label=second.label[:300],
        terms=list(second.terms),
        representative_post_ids=[ids[i] for i in second.representative_indices],
        size=0,
    )
    moved = [ids[i] for i in np.flatnonzero(result.assignments == second.id)]
    PostTheme.objects.filter(run=run, post_id__in=moved).update(theme=new)
    theme.label, theme.terms = first.label[:300], list(first.terms)
    theme.representative_post_ids = [ids[i] for i in first.representative_indices]
    _refresh(run, theme)
    _refresh(run, new)
    return True


def _editable(theme: Theme, actor: User) -> AnalysisRun:
    run = theme.run
    _require(run.jam, actor)
    latest = selectors.run_latest_done(jam=run.jam)
    if latest is None or latest.pk != run.pk:
        raise Invalid(_("These themes are from an older analysis; reload the page."))
    return run


def _refuse_pinned(themes: Sequence[Theme]) -> None:
    """Merging or splitting waits until the theme is unpinned."""
    pinned = Theme.objects.filter(pk__in=[t.pk for t in themes], pinned=True).first()
    if pinned is not None:
        raise Invalid(
            _("“%(theme)s” is pinned: unpin it to merge or split it.")
            % {"theme": pinned.display_label}
        )


def _edit_record(run: AnalysisRun, actor: User, kind: EditKind, data: dict[str, Any]) -> ThemeEdit:
    edit = ThemeEdit.objects.create(jam=run.jam, kind=kind, data=data, actor=actor)
    audit_append(
        jam=run.jam,
        actor=actor,
        action=f"analysis.theme_{kind}",
        target=", ".join(s["label"] for s in data.get("themes", [data.get("theme", {})]))[:200],
        data={"edit": edit.pk, "label": data.get("label", "")},
    )
    return edit


def theme_rename(*, actor: User, theme: Theme, label: str) -> Theme:
    """Give a theme a label of the organizer's; kept in later runs."""
    run = _editable(theme, actor)
    label = " ".join(label.split())[:200]
    if not label:
        raise Invalid(_("A theme needs a label."))
    with transaction.atomic():
        edit = _edit_record(
            run, actor, EditKind.RENAME, {"theme": _signature(theme), "label": label}
        )
        _apply_edit(run, edit)
    theme.refresh_from_db()
    return theme


def themes_merge(*, actor: User, themes: Sequence[Theme], label: str = "") -> Theme:
    """Merge two or more themes of the latest run into the first; kept in later runs."""
    if len({t.pk for t in themes}) < 2:
        raise Invalid(_("Choose at least two themes to merge."))
    run = _editable(themes[0], actor)
    if any(t.run_id != run.pk for t in themes):
        raise Invalid(_("These themes are from different analyses."))
    _refuse_pinned(themes)
    label = " ".join(label.split())[:200]
    with transaction.atomic():
        data = {"themes": [_signature(t) for t in themes], "label": label}
        _edit_record(run, actor, EditKind.MERGE, data)
        merged = _merge(run, list(themes), label)
    merged.refresh_from_db()
    return merged


def theme_split(*, actor: User, theme: Theme) -> list[Theme]:
    """Split a theme in two; kept in later runs."""
    run = _editable(theme, actor)
    _refuse_pinned([theme])
    with transaction.atomic():
        _edit_record(run, actor, EditKind.SPLIT, {"theme": _signature(theme)})
        if not _split(run, theme):
            raise Invalid(_("This theme is too small to split."))
    return list(Theme.objects.filter(run=run).order_by("number"))


def theme_pin(*, actor: User, theme: Theme, pinned: bool = True) -> Theme:
    """Pin a theme of the latest run, so later runs keep it as it is (its posts
    together, new posts joining it when they are nearest, its label); or unpin it,
    so they cluster its posts afresh."""
    run = _editable(theme, actor)
    with transaction.atomic():
        changed = Theme.objects.filter(pk=theme.pk).exclude(pinned=pinned).update(pinned=pinned)
        if changed:
            audit_append(
                jam=run.jam,
                actor=actor,
                action="analysis.theme_pin" if pinned else "analysis.theme_unpin",
                target=theme.display_label[:200],
                data={"theme": theme.pk},
            )
    theme.refresh_from_db()
    return theme


def theme_export(
    *, actor: User, theme: Theme, order: str, query: ParsedQuery = NO_WORDS
) -> QuerySet[Post, tuple[Any, ...]]:
    """The visible posts of a theme for download (``selectors.theme_post_rows``), if
    ``actor`` may read the jam's analysis; the download is logged."""
    jam = theme.run.jam
    jam_require(jam_context_for(jam=jam, user=actor), Action.VIEW_PULSE)
    audit_append(
        jam=jam,
        actor=actor,
        action="analysis.theme_exported",
        target=theme.display_label[:200],
        data={
            "theme": theme.pk,
            "run": theme.run_id,
            "order": words_order(order, query),
            "words": query.text,
        },
    )
    return selectors.theme_post_rows(jam=jam, theme=theme, order=order, query=query)


def words_export(
    *, actor: User, jam: Jam, query: ParsedQuery, order: str, topic_id: int | None = None
) -> QuerySet[Post, tuple[Any, ...]]:
    """The jam's visible posts with some words for download
    (``selectors.word_post_rows``), if ``actor`` may read the jam's analysis
    and there are words; the download is logged."""
    jam_require(jam_context_for(jam=jam, user=actor), Action.VIEW_PULSE)
    if not query.terms:
        raise Invalid(_("Say which words the posts to download must have."))
    audit_append(
        jam=jam,
        actor=actor,
        action="analysis.posts_exported",
        target=query.text[:200],
        data={"words": query.text, "order": words_order(order, query), "topic": topic_id},
    )
    return selectors.word_post_rows(jam=jam, query=query, order=order, topic_id=topic_id)
