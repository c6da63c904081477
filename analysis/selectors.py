"""Reads for the analysis: pipeline inputs, pages, the pulse and the report. Evaluated data only."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from django.core.paginator import Page, Paginator
from django.db.models import Avg, Count, Q, QuerySet
from django.utils import timezone

from analysis.pipeline.groups import AGREE, DISAGREE, PASS, Votes
from analysis.pipeline.trends import Direction, theme_trend
from ideas.models import Post, Reaction, ReactionValue, post_text, post_visible
from ideas.search import NO_WORDS, ParsedQuery, matching_posts, ordered, where_words, words_order
from jams.models import Event, Jam, Topic

from .models import AnalysisRun, OpinionGroup, PostTheme, RunStatus, Theme, ToneShift

VOTE_VALUE = {
    ReactionValue.AGREE: AGREE,
    ReactionValue.DISAGREE: DISAGREE,
    ReactionValue.PASS: PASS,
}
MARKED_EVENTS = ("phase.changed", "alert")


@dataclass(frozen=True)
class AnalysisInputs:
    """What the pipeline sees of a jam: visible posts (``ideas.models.post_visible``:
    neither they nor their thread hidden), and reactions as the vote matrix.

    Statements are the posts that received a reaction; participants are the
    people who reacted. Reactions on hidden posts stay in the matrix, as Pol.is
    keeps moderated-out comments: ``moderated_statements`` names their
    statements, which count as seen but move nobody (analysis.pipeline.groups).
    """

    post_ids: list[int]
    texts: list[str]
    created_at: list[datetime]
    topic_ids: list[int]
    sentiments: list[float | None]
    statement_post_ids: list[int]
    participant_ids: list[int]
    votes: Votes
    input_hash: str
    moderated_statements: list[int] = field(default_factory=list)
    hidden_count: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def analysis_inputs(*, jam: Jam) -> AnalysisInputs:
    """Load posts and reactions in two queries and hash them.

    The hash covers every post's id, edit time and hidden flag (hidden, or
    in a hidden thread) and every reaction (post, person, value): exactly
    what can change a result.
    """
    digest = hashlib.sha256()
    post_ids: list[int] = []
    texts: list[str] = []
    created: list[datetime] = []
    topics: list[int] = []
    sentiments: list[float | None] = []
    hidden = 0
    rows = (
        Post.objects.filter(jam=jam)
        .order_by("id")
        .values_list(
            "id", "body", "created_at", "topic_id", "sentiment", "edited_at", "hidden_at",
            "parent_id", "idea__title", "idea__hidden_at",
        )
    )  # fmt: skip
    for (
        pk,
        body,
        created_at,
        topic_id,
        sentiment,
        edited_at,
        hidden_at,
        parent,
        title,
        thread_hidden_at,
    ) in rows.iterator(chunk_size=5000):
        is_hidden = hidden_at is not None or thread_hidden_at is not None
        digest.update(
            f"p{pk}:{edited_at.isoformat() if edited_at else ''}:{int(is_hidden)};".encode()
        )
        if is_hidden:
            hidden += 1
            continue
        post_ids.append(pk)
        texts.append(post_text(title if parent is None else None, body))
        created.append(created_at)
        topics.append(topic_id)
        sentiments.append(sentiment)
    visible = set(post_ids)
    reactions = (
        Reaction.objects.filter(post__jam=jam)
        .order_by("post_id", "user_id")
        .values_list("post_id", "user_id", "value")
    )
    statement_of: dict[int, int] = {}
    participant_of: dict[int, int] = {}
    participants, statements, values = [], [], []
    for post_id, user_id, value in reactions.iterator(chunk_size=20000):
        digest.update(f"r{post_id}:{user_id}:{value};".encode())
        statements.append(statement_of.setdefault(post_id, len(statement_of)))
        participants.append(participant_of.setdefault(user_id, len(participant_of)))
        values.append(VOTE_VALUE[ReactionValue(value)])
    moderated = [index for post_id, index in statement_of.items() if post_id not in visible]
    votes = Votes(
        participants=np.array(participants, dtype=np.int64),
        statements=np.array(statements, dtype=np.int64),
        values=np.array(values, dtype=np.float64),
        n_participants=len(participant_of),
        n_statements=len(statement_of),
    )
    return AnalysisInputs(
        post_ids=post_ids,
        texts=texts,
        created_at=created,
        topic_ids=topics,
        sentiments=sentiments,
        statement_post_ids=list(statement_of),
        participant_ids=list(participant_of),
        votes=votes,
        moderated_statements=moderated,
        input_hash=digest.hexdigest(),
        hidden_count=hidden,
        counts={
            "posts": len(post_ids),
            "hidden": hidden,
            "scored": sum(1 for s in sentiments if s is not None),
            "statements": len(statement_of) - len(moderated),
            "moderated_statements": len(moderated),
            "participants": len(participant_of),
            "votes": len(values),
        },
    )


# --- Runs --------------------------------------------------------------------


def run_latest(*, jam: Jam) -> AnalysisRun | None:
    """The newest run of any status: what the pulse shows."""
    return AnalysisRun.objects.filter(jam=jam).first()


def run_latest_done(*, jam: Jam) -> AnalysisRun | None:
    """The newest run with results."""
    return AnalysisRun.objects.done().filter(jam=jam).first()


def run_reusable(*, jam: Jam, input_hash: str, parameters: dict[str, Any]) -> AnalysisRun | None:
    """The newest done run on the same inputs with the same parameters."""
    run = run_latest_done(jam=jam)
    if run is not None and run.input_hash == input_hash and run.parameters == parameters:
        return run
    return None


@dataclass(frozen=True)
class PreviousThemes:
    """The themes of a jam's latest done run, per post, for the next run to carry on."""

    run: AnalysisRun
    computed: dict[int, int]
    """Post id -> the theme the pipeline gave it (``Theme.number``, before edits)."""
    final: dict[int, int]
    """Post id -> the ``Theme`` it is in now (organizer edits applied)."""
    pinned: dict[int, Theme]
    """The run's pinned themes by id."""

    def pinned_keys(self, post_ids: Sequence[int]) -> list[int] | None:
        """Per post, the pinned theme it is in (its id), else -1; None when none is pinned."""
        if not self.pinned:
            return None
        return [
            theme if (theme := self.final.get(pk, -1)) in self.pinned else -1 for pk in post_ids
        ]


def previous_themes(*, jam: Jam) -> PreviousThemes | None:
    run = run_latest_done(jam=jam)
    if run is None:
        return None
    computed: dict[int, int] = {}
    final: dict[int, int] = {}
    rows = PostTheme.objects.filter(run=run).values_list("post_id", "computed_number", "theme_id")
    for post_id, number, theme_id in rows.iterator(chunk_size=10_000):
        computed[post_id], final[post_id] = number, theme_id
    pinned = {theme.pk: theme for theme in Theme.objects.filter(run=run, pinned=True)}
    return PreviousThemes(run, computed, final, pinned)


def run_pending(*, jam: Jam) -> AnalysisRun | None:
    return AnalysisRun.objects.pending().filter(jam=jam).first()


def theme_post_ids(*, theme: Theme) -> list[int]:
    return list(
        PostTheme.objects.filter(theme=theme).order_by("post_id").values_list("post_id", flat=True)
    )


def theme_posts(*, theme: Theme) -> list[tuple[int, str, datetime, float | None]]:
    """(post id, analysed text, created_at, sentiment) of a theme's posts."""
    rows = (
        Post.objects.filter(pk__in=PostTheme.objects.filter(theme=theme).values("post_id"))
        .order_by("id")
        .values_list("id", "body", "created_at", "sentiment", "parent_id", "idea__title")
    )
    return [
        (pk, post_text(title if parent is None else None, body), created, sentiment)
        for pk, body, created, sentiment, parent, title in rows
    ]


@dataclass(frozen=True)
class Trend:
    """A theme that is emerging or fading: its share of posts before and since."""

    direction: Direction
    since: datetime
    earlier_share: float
    recent_share: float

    @property
    def earlier_percent(self) -> int:
        return round(100 * self.earlier_share)

    @property
    def recent_percent(self) -> int:
        return round(100 * self.recent_share)

    def payload(self) -> dict[str, Any]:
        return {
            "direction": str(self.direction),
            "since": self.since,
            "earlier_share": round(self.earlier_share, 4),
            "recent_share": round(self.recent_share, 4),
        }


def theme_trends(*, run: AnalysisRun, themes: Sequence[Theme]) -> dict[int, Trend]:
    """Emerging and fading themes of a run (theme pk -> trend); steady ones are left out.

    From what the run stored: its posts per time bucket and each theme's share of
    them (kept up to date by organizer edits), so no post is read."""
    grid = run.timeline.get("share") or {}
    totals = np.asarray(grid.get("totals") or [], dtype=np.float64)
    trends: dict[int, Trend] = {}
    for theme in themes:
        values = np.asarray(theme.share.get("values") or [], dtype=np.float64)
        if len(totals) == 0 or values.shape != totals.shape:
            continue
        trend = theme_trend(np.rint(values * totals), totals)
        if trend is None or trend.direction == Direction.STEADY:
            continue
        since = float(grid["start"]) + trend.since_bucket * float(grid["width"])
        trends[theme.pk] = Trend(
            trend.direction,
            datetime.fromtimestamp(since, tz=UTC),
            trend.earlier_share,
            trend.recent_share,
        )
    return trends


@dataclass(frozen=True)
class TopicTone:
    """A topic's tone in a run: scored posts, mean and per bucket of the timeline."""

    id: int
    title: str
    posts: int
    scored: int
    sentiment: float | None
    tone: dict[str, Any]
    """{"start", "width", "counts", "means"}: the run's tone buckets."""


def _timed(run: AnalysisRun, series: dict[str, Any]) -> dict[str, Any]:
    """A per-bucket series with the start and width of the run's tone buckets."""
    return {
        "start": run.timeline.get("start"),
        "width": run.timeline.get("width"),
        "counts": series.get("counts", []),
        "means": series.get("means", []),
    }


def topic_tones(*, run: AnalysisRun) -> list[TopicTone]:
    """Tone per topic of a run, most scored posts first; one query for the titles."""
    rows = run.timeline.get("topics") or []
    titles = dict(
        Topic.objects.filter(pk__in=[row["topic"] for row in rows]).values_list("id", "title")
    )
    return [
        TopicTone(
            id=row["topic"],
            title=titles.get(row["topic"], ""),
            posts=row["posts"],
            scored=row["scored"],
            sentiment=row["sentiment"],
            tone=_timed(run, row),
        )
        for row in rows
        if row["topic"] in titles
    ]


def theme_tone(*, run: AnalysisRun, theme: Theme) -> dict[str, Any]:
    return _timed(run, theme.tone)


# --- Pages -------------------------------------------------------------------


@dataclass(frozen=True)
class PostRef:
    id: int
    idea_id: int
    text: str
    url: str


def post_refs(*, jam: Jam, post_ids: Sequence[int]) -> dict[int, PostRef]:
    """Short references to posts for linking, in one query."""
    rows = Post.objects.filter(jam=jam, pk__in=set(post_ids)).values_list(
        "id", "idea_id", "body", "hidden_at"
    )
    return {
        pk: PostRef(
            id=pk,
            idea_id=idea_id,
            text=body if len(body) <= 160 else body[:157].rstrip() + "…",
            url=f"/jams/{jam.slug}/ideas/{idea_id}/#post-{pk}",
        )
        for pk, idea_id, body, hidden_at in rows
        if hidden_at is None
    }


@dataclass(frozen=True)
class AnalysisPage:
    run: AnalysisRun | None
    latest: AnalysisRun | None
    themes: list[Theme]
    shifts: list[ToneShift]
    groups: list[OpinionGroup]
    consensus: list[int]
    divisive: list[int]
    posts: dict[int, PostRef]
    markers: list[tuple[datetime, str, str]]
    """Jam events to mark on the timeline: (when, event name, short text)."""
    compared: bool = False
    """Whether the run was compared with a previous one (``Theme.continues``)."""
    ended: list[Theme] = field(default_factory=list)
    """Themes of the previous run that no theme of this run continues."""
    trends: dict[int, Trend] = field(default_factory=dict)
    """Emerging and fading themes by theme pk."""
    topics: list[TopicTone] = field(default_factory=list)


def analysis_page(*, jam: Jam) -> AnalysisPage:
    """Everything the analysis page shows from the latest done run, in a fixed number of queries."""
    latest = run_latest(jam=jam)
    run = run_latest_done(jam=jam)
    if run is None:
        return AnalysisPage(None, latest, [], [], [], [], [], {}, [])
    themes = list(run.themes.select_related("continues"))
    previous_run = run.summary.get("previous_run")
    ended = []
    if previous_run is not None:
        ended = list(
            Theme.objects.filter(run_id=previous_run).exclude(
                pk__in=[theme.continues_id for theme in themes if theme.continues_id]
            )
        )
    shifts = list(run.shifts.all())
    groups = list(run.groups.all())
    consensus = list(groups[0].consensus_post_ids) if groups else []
    divisive = list(groups[0].divisive_post_ids) if groups else []
    wanted: list[int] = [pk for theme in themes for pk in theme.representative_post_ids]
    wanted += [pk for shift in shifts for pk in shift.post_ids]
    wanted += [pk for group in groups for pk in group.representative_post_ids]
    wanted += consensus + divisive
    return AnalysisPage(
        run=run,
        latest=latest,
        themes=themes,
        shifts=shifts,
        groups=groups,
        consensus=consensus,
        divisive=divisive,
        posts=post_refs(jam=jam, post_ids=wanted),
        markers=timeline_markers(jam=jam),
        compared=previous_run is not None,
        ended=ended,
        trends=theme_trends(run=run, themes=themes),
        topics=topic_tones(run=run),
    )


def timeline_markers(*, jam: Jam, limit: int = 50) -> list[tuple[datetime, str, str]]:
    rows = Event.objects.filter(jam=jam, name__in=MARKED_EVENTS).order_by("-seq")[:limit]
    markers = []
    for event in rows:
        text = str(event.data.get("text", "")) if event.name == "alert" else ""
        if event.name == "phase.changed":
            text = str(event.data.get("stage", ""))
        markers.append((event.created_at, event.name, text[:80]))
    return sorted(markers)


@dataclass(frozen=True)
class Pulse:
    run: AnalysisRun | None
    posts_last_hour: int
    active_last_hour: int
    tone_last_hour: float | None
    tone_overall: float | None
    moving: list[tuple[Theme, Trend]] = field(default_factory=list)
    """Emerging themes, then fading ones, of the latest done run; the larger change first."""
    latest_shift: ToneShift | None = None
    """The latest tone shift of the latest done run."""


def jam_pulse(*, jam: Jam, now: datetime | None = None) -> Pulse:
    """Headline numbers for facilitators: activity and tone in the last hour."""
    now = now or timezone.now()
    since = now - timedelta(hours=1)
    visible = Post.objects.filter(post_visible(), jam=jam)
    recent = visible.filter(created_at__gte=since, created_at__lte=now).aggregate(
        n=Count("id"), tone=Avg("sentiment")
    )
    overall = visible.aggregate(tone=Avg("sentiment"))
    authors = set(
        visible.filter(created_at__gte=since, created_at__lte=now)
        .exclude(author=None)
        .values_list("author_id", flat=True)
    )
    reactors = set(
        Reaction.objects.filter(post__jam=jam, updated_at__gte=since, updated_at__lte=now)
        .values_list("user_id", flat=True)
        .distinct()
    )
    moving: list[tuple[Theme, Trend]] = []
    latest_shift = None
    done = run_latest_done(jam=jam)
    if done is not None:
        themes = {theme.pk: theme for theme in done.themes.all()}
        trends = theme_trends(run=done, themes=list(themes.values()))
        moving = sorted(
            ((themes[pk], trend) for pk, trend in trends.items()),
            key=lambda item: (
                item[1].direction != Direction.EMERGING,
                -abs(item[1].recent_share - item[1].earlier_share),
                item[0].number,
            ),
        )
        latest_shift = done.shifts.order_by("-at").first()
    return Pulse(
        run=run_latest(jam=jam),
        posts_last_hour=recent["n"],
        active_last_hour=len(authors | reactors),
        tone_last_hour=recent["tone"],
        tone_overall=overall["tone"],
        moving=moving,
        latest_shift=latest_shift,
    )


def run_status_payload(run: AnalysisRun | None) -> dict[str, Any]:
    if run is None:
        return {"run": None, "status": None, "progress": 0, "stage": ""}
    return {"run": run.pk, "status": run.status, "progress": run.progress, "stage": run.stage}


THEME_POSTS_PER_PAGE = 50


@dataclass(frozen=True)
class ThemePost:
    id: int
    text: str
    url: str
    topic: str
    created_at: datetime
    sentiment: float | None
    agrees: int
    disagrees: int


@dataclass(frozen=True)
class ThemeDetail:
    theme: Theme
    latest: bool
    """Whether the theme is of the run the analysis page shows."""
    trend: Trend | None
    order: str
    posts: Page[ThemePost]
    query: ParsedQuery
    """The words the posts were narrowed to (none: every visible post)."""


@dataclass(frozen=True)
class WordsInThemes:
    """Where the posts with some words are, among a run's themes."""

    query: ParsedQuery
    posts: int
    """Visible posts of the jam that have the words."""
    by_theme: dict[int, int]
    """Theme pk -> how many of those posts the run put in it."""

    @property
    def in_themes(self) -> int:
        return sum(self.by_theme.values())


def words_in_themes(*, run: AnalysisRun, query: ParsedQuery) -> WordsInThemes:
    """How many of the jam's visible posts have the words of ``query``, and
    how many of them each theme of ``run`` holds: two queries."""
    matching = where_words(Post.objects.filter(post_visible(), jam_id=run.jam_id), "body", query)
    by_theme = dict(
        PostTheme.objects.filter(run=run, post__in=matching.values("pk"))
        .values("theme_id")
        .annotate(n=Count("id"))
        .values_list("theme_id", "n")
    )
    return WordsInThemes(query=query, posts=matching.count(), by_theme=by_theme)


def theme_post_rows(
    *, jam: Jam, theme: Theme, order: str, query: ParsedQuery = NO_WORDS
) -> QuerySet[Post, tuple[Any, ...]]:
    """The visible posts of a theme that have the words of ``query`` (every
    one for none), in ``order`` (see ``ideas.search.words_order``): (id,
    idea id, body, topic title, created_at, sentiment, agree count, disagree
    count)."""
    posts = matching_posts(jam=jam, query=query).filter(
        pk__in=PostTheme.objects.filter(theme=theme).values("post_id")
    )
    return _post_rows(posts, order, query)


def _post_rows(
    posts: QuerySet[Post], order: str, query: ParsedQuery
) -> QuerySet[Post, tuple[Any, ...]]:
    """``posts`` (found by ``query``) in ``order`` (``ideas.search.ordered``)
    as the rows listed and downloaded (see ``theme_post_rows``)."""
    return ordered(posts, order, query).values_list(
        "id", "idea_id", "body", "topic__title", "created_at", "sentiment",
        "agree_count", "disagree_count",
    )  # fmt: skip


def word_post_rows(
    *, jam: Jam, query: ParsedQuery, order: str, topic_id: int | None = None
) -> QuerySet[Post, tuple[Any, ...]]:
    """The jam's visible posts with the words of ``query`` (the search page's,
    in one topic if given), in ``order``, as rows of ``theme_post_rows``."""
    return _post_rows(matching_posts(jam=jam, query=query, topic_id=topic_id), order, query)


def theme_detail(
    *,
    jam: Jam,
    theme: Theme,
    order: str,
    page: str | int | None,
    query: ParsedQuery = NO_WORDS,
) -> ThemeDetail:
    """A theme and one page of its visible posts, those with the words of
    ``query`` if it has any, in ``order`` (an unknown order or page number
    falls back to the first); a fixed number of queries."""
    order = words_order(order, query)
    rows = theme_post_rows(jam=jam, theme=theme, order=order, query=query)
    paginator: Paginator[Any] = Paginator(rows, THEME_POSTS_PER_PAGE)
    listed = paginator.get_page(page)
    posts = [
        ThemePost(
            id=pk,
            text=body,
            url=f"/jams/{jam.slug}/ideas/{idea_id}/#post-{pk}",
            topic=topic,
            created_at=created_at,
            sentiment=sentiment,
            agrees=agrees,
            disagrees=disagrees,
        )
        for pk, idea_id, body, topic, created_at, sentiment, agrees, disagrees in listed
    ]
    latest = run_latest_done(jam=jam)
    return ThemeDetail(
        theme=theme,
        latest=latest is not None and latest.pk == theme.run_id,
        trend=theme_trends(run=theme.run, themes=[theme]).get(theme.pk),
        order=order,
        posts=Page(posts, listed.number, listed.paginator),
        query=query,
    )


# --- Report ------------------------------------------------------------------


def analysis_report_sections(*, jam: Jam) -> dict[str, Any]:
    """Themes, posts with their theme and sentiment, tone shifts and opinion groups of the
    latest done run, as plain data for the jam report. Empty lists when no run is done."""
    run = run_latest_done(jam=jam)
    sections: dict[str, Any] = {
        "run": None,
        "themes": [],
        "posts": [],
        "shifts": [],
        "groups": [],
        "topics": [],
    }
    if run is None:
        return sections
    sections["run"] = {
        "id": run.pk,
        "finished_at": run.finished_at,
        "parameters": run.parameters,
        "summary": run.summary,
    }
    themes = list(run.themes.all())
    trends = theme_trends(run=run, themes=themes)
    sections["themes"] = [
        {
            "id": t.pk,
            "label": t.display_label,
            "size": t.size,
            "sentiment": t.sentiment,
            "continues": t.continues_id,
            "pinned": t.pinned,
            "trend": trends[t.pk].payload() if t.pk in trends else None,
            "tone": _timed(run, t.tone),
        }
        for t in themes
    ]
    sections["topics"] = [
        {
            "id": topic.id,
            "title": topic.title,
            "posts": topic.posts,
            "scored_posts": topic.scored,
            "sentiment": topic.sentiment,
            "tone": topic.tone,
        }
        for topic in topic_tones(run=run)
    ]
    theme_of = dict(PostTheme.objects.filter(run=run).values_list("post_id", "theme_id"))
    posts = (
        Post.objects.filter(post_visible(), jam=jam)
        .order_by("created_at", "id")
        .values_list("id", "external_id", "created_at", "topic_id", "sentiment")
    )
    sections["posts"] = [
        {
            "id": pk,
            "external_id": external_id or None,
            "created_at": created_at,
            "topic": topic_id,
            "theme": theme_of.get(pk),
            "sentiment": sentiment,
        }
        for pk, external_id, created_at, topic_id, sentiment in posts.iterator(chunk_size=5000)
    ]
    sections["shifts"] = [
        {"at": s.at, "before": s.before, "after": s.after, "posts": s.post_ids}
        for s in run.shifts.all()
    ]
    sections["groups"] = [
        {
            "id": g.pk,
            "number": g.number,
            "size": g.size,
            "consensus": list(g.consensus_post_ids),
            "representative": g.representative_post_ids,
            "divisive": list(g.divisive_post_ids),
        }
        for g in run.groups.all()
    ]
    return sections


def live_jams_due(*, jams: Sequence[Jam], now: datetime, every: timedelta) -> list[Jam]:
    """Of ``jams``, those without a pending run and without any run newer than ``every``
    (a failed run also waits, so a broken jam is not retried in a tight loop)."""
    ids = [jam.pk for jam in jams]
    busy = set(
        AnalysisRun.objects.filter(jam_id__in=ids)
        .filter(Q(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]) | Q(created_at__gt=now - every))
        .values_list("jam_id", flat=True)
    )
    return [jam for jam in jams if jam.pk not in busy]
