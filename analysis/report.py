"""The outcome report of a jam: what it shows, assembled from stored results.

``report_build`` reads the stored ranking (voting), the latest done analysis
run and a few aggregates over posts, reactions and ballots, and returns
evaluated data (``Report``) for the page, the PDF and the exports. It never
computes a ranking or an analysis itself and never reads who voted what:
only per-idea aggregates, ballot counts and ballot times.

Also here: the report's SVG charts (on top of ``analysis/charts.py``), the
CSV and JSON serializations, ``report_export`` (which logs every export) and
``report_published_notify`` (called after a publish commits).
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final

from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape, strip_tags
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from ideas.models import Idea, Post, Reaction, ReactionValue, post_visible
from jams import realtime
from jams.hours import hour_expression, per_hour
from jams.models import Event, Jam, Membership, Phase, Topic
from jams.rules import Action, jam_require
from jams.selectors import jam_context_for
from jams.services import audit_append
from voting.methods import method_statement
from voting.models import Ballot, Method, RankedIdeaResult, RankingResult

from . import charts
from .models import AnalysisRun, GroupMember, OpinionGroup
from .selectors import (
    PostRef,
    Trend,
    analysis_report_sections,
    post_refs,
    run_latest_done,
    theme_trends,
)

if TYPE_CHECKING:
    from accounts.models import User

SUMMARY_WORDS: Final = 30
TOP_IDEAS: Final = 30  # ranked ideas on the page and in the PDF; CSV and JSON hold all
QUOTES_PER_THEME: Final = 3
BRIDGING_SHOWN: Final = 5
DISSENT_SHOWN: Final = 5
EXPORT_FORMATS: Final = ("csv", "json", "pdf")
# Beyond 31 days of activity the hourly series lists only the hours with activity.
MAX_HOURS: Final = timedelta(days=31)
NOTIFICATION_KIND: Final = "report.published"
# Cells a spreadsheet would read as a formula (OWASP "CSV injection").
FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


# --- Data --------------------------------------------------------------------------


@dataclass(frozen=True)
class RankedRow:
    idea_id: int
    title: str
    jam_slug: str
    body_html: str = field(repr=False)  # the opening post, for ``summary``
    topic: str
    rank: int
    score: float
    low: float
    high: float
    total: float
    count: int
    n: int
    tie_group: int
    tie_first: int  # first and last rank of the idea's tie group
    tie_last: int
    score_text: str
    interval_text: str
    evidence_text: str

    # The summary and the link are made when first read: the page shows TOP_IDEAS of
    # the (say) 1,000 ranked ideas, the CSV and the JSON every one.
    @cached_property
    def summary(self) -> str:
        return summary_text(self.body_html)

    @cached_property
    def url(self) -> str:
        return reverse("ideas:idea", kwargs={"slug": self.jam_slug, "idea_id": self.idea_id})

    @property
    def tied(self) -> bool:
        return self.tie_last > self.tie_first

    @property
    def tie_label(self) -> str:
        if not self.tied:
            return ""
        # An en dash between the ranks, as in print.
        text = _("tied %(first)d–%(last)d")  # noqa: RUF001
        return text % {"first": self.tie_first, "last": self.tie_last}


@dataclass(frozen=True)
class RoundReport:
    round_id: int
    title: str
    method: str
    method_label: str
    statement: str
    ballots: int
    entries: int
    eligible: int
    computed_at: datetime
    ideas: list[RankedRow]
    chart: SafeString

    @property
    def shown(self) -> list[RankedRow]:
        return self.ideas[:TOP_IDEAS]

    @property
    def not_shown(self) -> int:
        return max(0, len(self.ideas) - TOP_IDEAS)

    @property
    def turnout(self) -> float | None:
        return self.ballots / self.eligible if self.eligible else None

    @property
    def turnout_percent(self) -> int | None:
        turnout = self.turnout
        return None if turnout is None else round(100 * turnout)

    @property
    def tie_groups(self) -> int:
        return len({row.tie_group for row in self.ideas if row.tied})


@dataclass(frozen=True)
class GroupRate:
    group: int  # the group's number as shown (1, 2, ...)
    agree: int
    reactions: int

    @property
    def rate(self) -> float:
        """The agree probability with Laplace smoothing: (agree + 1) / (reactions + 2)."""
        return (self.agree + 1) / (self.reactions + 2)

    @property
    def percent(self) -> int:
        return round(100 * self.rate)


@dataclass(frozen=True)
class BridgingRow:
    idea_id: int
    post_id: int
    title: str
    url: str
    score: float  # product of the groups' smoothed agree rates
    rates: list[GroupRate]
    rank: int | None  # its rank in the first ranked round, None when not on that ballot

    @property
    def lowest_percent(self) -> int:
        return min(rate.percent for rate in self.rates)


@dataclass(frozen=True)
class DissentRow:
    post_id: int
    text: str
    url: str
    rates: list[GroupRate]

    @property
    def gap(self) -> float:
        values = [r.rate for r in self.rates]
        return max(values) - min(values) if values else 0.0


@dataclass(frozen=True)
class ThemeRow:
    id: int
    label: str
    size: int
    share: float  # of the analysed posts
    sentiment: float | None
    quotes: list[PostRef]
    trend: Trend | None = None

    @property
    def share_percent(self) -> int:
        return round(100 * self.share)


@dataclass(frozen=True)
class CountRow:
    label: str
    people: int
    posts: int
    reactions: int
    votes: int


@dataclass(frozen=True)
class HourRow:
    start: datetime
    posts: int
    reactions: int
    ballots: int


@dataclass(frozen=True)
class Participation:
    members: int
    people: int  # members who posted, reacted or voted
    posts: int
    reactions: int
    votes: int  # ballot entries (or pairwise judgments) over all rounds
    voters: int  # ballots with at least one entry, over all rounds
    by_topic: list[CountRow]
    by_hour: list[HourRow]


@dataclass(frozen=True)
class ShiftRow:
    at: datetime
    before: float
    after: float
    posts: list[PostRef]


@dataclass(frozen=True)
class Report:
    jam: Jam
    generated_at: datetime
    published_at: datetime | None
    rounds: list[RoundReport]
    run: AnalysisRun | None
    themes: list[ThemeRow]
    groups: list[tuple[int, int]]  # (number as shown, size)
    bridging: list[BridgingRow]
    bridging_candidates: int
    dissent: list[DissentRow]
    shifts: list[ShiftRow]
    markers: list[tuple[datetime, str, str]]
    participation: Participation
    timeline_chart: SafeString | None
    activity_chart: SafeString | None
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def analysed_posts(self) -> int:
        return int(self.run.summary.get("posts", 0)) if self.run else 0


# --- Assembly ----------------------------------------------------------------------


def summary_text(body_html: str, *, words: int = SUMMARY_WORDS) -> str:
    """The first ``words`` words of a rendered post as plain text."""
    text = html.unescape(strip_tags(body_html))
    parts = text.split()
    if len(parts) <= words:
        return " ".join(parts)
    return " ".join(parts[:words]) + " …"


def report_build(*, jam: Jam, now: datetime | None = None) -> Report:
    """Everything the report shows, from stored results, in a bounded number of queries."""
    now = now or timezone.now()
    run = run_latest_done(jam=jam)
    members = Membership.objects.filter(jam=jam).count()
    rounds = _rounds(jam, eligible=members)
    group_sizes = _groups(run)
    bridging, candidates = _bridging(jam, run, len(group_sizes), rounds)
    dissent = _dissent(jam, run, len(group_sizes))
    themes, shifts = _themes_and_shifts(jam, run)
    markers = _markers(jam)
    participation = _participation(jam, members=members, rounds=rounds)
    report = Report(
        jam=jam,
        generated_at=now,
        published_at=jam.results_published_at,
        rounds=rounds,
        run=run,
        themes=themes,
        groups=group_sizes,
        bridging=bridging,
        bridging_candidates=candidates,
        dissent=dissent,
        shifts=shifts,
        markers=markers,
        participation=participation,
        timeline_chart=_timeline_chart(run, shifts, markers),
        activity_chart=activity_chart(participation.by_hour) if participation.by_hour else None,
    )
    return report


def _format(method: str, value: float) -> str:
    if method in (Method.APPROVAL, Method.PAIRWISE):
        return f"{100 * value:.1f} %"
    if method == Method.RATING:
        return f"{value:.2f}"
    return f"{value:.0f}"


def _evidence(method: str, row: RankedIdeaResult) -> str:
    if method == Method.APPROVAL:
        return _("%(approvals)d of %(ballots)d ballots") % {
            "approvals": round(row.total),
            "ballots": row.n,
        }
    if method == Method.RATING:
        return _("%(n)d ratings") % {"n": row.n}
    if method == Method.BUDGET:
        return _("%(points)d points from %(n)d voters") % {"points": round(row.total), "n": row.n}
    return _("%(n)d comparisons") % {"n": row.n}


def _rounds(jam: Jam, *, eligible: int) -> list[RoundReport]:
    results = list(
        RankingResult.objects.filter(round__jam=jam)
        .select_related("round")
        .order_by("round__created_at", "round_id")
    )
    if not results:
        return []
    rows_by_result: dict[int, list[RankedIdeaResult]] = defaultdict(list)
    for row in (
        RankedIdeaResult.objects.filter(result__in=results)
        .select_related("idea__topic")
        .order_by("result_id", "rank")
    ):
        rows_by_result[row.result_id].append(row)
    ranked = {row.idea_id for rows in rows_by_result.values() for row in rows}
    summaries = dict(
        Post.objects.filter(idea_id__in=ranked, parent__isnull=True).values_list(
            "idea_id", "body_html"
        )
    )
    out = []
    for result in results:
        rows = rows_by_result[result.pk]
        spans: dict[int, tuple[int, int]] = {}
        for row in rows:
            first, last = spans.get(row.tie_group, (row.rank, row.rank))
            spans[row.tie_group] = (min(first, row.rank), max(last, row.rank))
        method = result.method
        ideas = [
            RankedRow(
                idea_id=row.idea_id,
                title=row.idea.title,
                jam_slug=jam.slug,
                body_html=summaries.get(row.idea_id, ""),
                topic=row.idea.topic.title,
                rank=row.rank,
                score=row.score,
                low=row.low,
                high=row.high,
                total=row.total,
                count=row.count,
                n=row.n,
                tie_group=row.tie_group,
                tie_first=spans[row.tie_group][0],
                tie_last=spans[row.tie_group][1],
                score_text=_format(method, row.score),
                interval_text=f"{_format(method, row.low)} \u2013 {_format(method, row.high)}",
                evidence_text=_evidence(method, row),
            )
            for row in rows
        ]
        out.append(
            RoundReport(
                round_id=result.round.pk,
                title=result.round.title,
                method=method,
                method_label=str(Method(method).label),
                statement=method_statement(method, result.parameters),
                ballots=result.ballots,
                entries=result.entries,
                eligible=eligible,
                computed_at=result.computed_at,
                ideas=ideas,
                chart=ranking_chart(
                    ideas[:TOP_IDEAS],
                    method=method,
                    chart_id=f"ranking-{result.round.pk}",
                    title=_("Ranking: %(round)s") % {"round": result.round.title},
                    desc=_ranking_desc(ideas[:TOP_IDEAS]),
                ),
            )
        )
    return out


def _ranking_desc(rows: Sequence[RankedRow]) -> str:
    if not rows:
        return _("No ranked ideas.")
    parts = [
        _("%(rank)d. %(title)s: %(score)s (interval %(interval)s)%(tie)s")
        % {
            "rank": row.rank,
            "title": row.title,
            "score": row.score_text,
            "interval": row.interval_text,
            "tie": f", {row.tie_label}" if row.tied else "",
        }
        for row in rows[:10]
    ]
    return _("Score of each idea as a dot with its uncertainty interval as a line. ") + "; ".join(
        parts
    )


def _groups(run: AnalysisRun | None) -> list[tuple[int, int]]:
    """(number as shown, 1-based; size) of each opinion group of the run."""
    if run is None:
        return []
    return [
        (number + 1, size)
        for number, size in OpinionGroup.objects.filter(run=run)
        .order_by("number")
        .values_list("number", "size")
    ]


def _group_counts(run: AnalysisRun, where: Q) -> dict[tuple[int, int], dict[int, tuple[int, int]]]:
    """Per reacted post (post id, idea id): {group number as shown: (agree, reactions)},
    in one grouped query that starts from the run's group members and joins their
    reactions (a correlated subquery per reaction took ~1 s for 150,000 reactions on
    SQLite). ``where`` filters the reactions, as ``user__reactions__...``; a group
    with no reaction to a post has no entry."""
    rows = (
        GroupMember.objects.filter(where, run=run)
        .order_by()
        .values_list("user__reactions__post_id", "user__reactions__post__idea_id", "group__number")
        .annotate(
            n=Count("user__reactions"),
            agree=Count("user__reactions", filter=Q(user__reactions__value=ReactionValue.AGREE)),
        )
    )
    counts: dict[tuple[int, int], dict[int, tuple[int, int]]] = defaultdict(dict)
    for post_id, idea_id, number, n, agree in rows:
        counts[post_id, idea_id][number + 1] = (agree, n)
    return counts


def _rates(by_group: dict[int, tuple[int, int]], n_groups: int) -> list[GroupRate]:
    return [
        GroupRate(group=g, agree=by_group.get(g, (0, 0))[0], reactions=by_group.get(g, (0, 0))[1])
        for g in range(1, n_groups + 1)
    ]


def _bridging(
    jam: Jam,
    run: AnalysisRun | None,
    n_groups: int,
    rounds: list[RoundReport],
) -> tuple[list[BridgingRow], int]:
    """Ideas whose opening post every opinion group agrees with, by Pol.is's group-informed
    consensus: the product over groups of (agree + 1) / (reactions + 2). Ideas that some
    group never reacted to are left out (nothing is known of that group's view), and so
    are hidden and merged ideas (in the same query as the counts)."""
    if run is None or n_groups < 2:
        return [], 0
    counts = _group_counts(
        run,
        Q(
            user__reactions__post__jam=jam,
            user__reactions__post__parent__isnull=True,
            user__reactions__post__hidden_at__isnull=True,
            user__reactions__post__idea__merged_into__isnull=True,
            user__reactions__post__idea__hidden_at__isnull=True,
        ),
    )
    scored = []
    for (post_id, idea_id), by_group in counts.items():
        if len(by_group) < n_groups:  # some group never reacted to it
            continue
        score = 1.0
        agrees = 0
        for g in range(1, n_groups + 1):  # in group order, as GroupRate's product would
            agree, n = by_group[g]
            score *= (agree + 1) / (n + 2)  # GroupRate.rate, without an object per row
            agrees += agree
        scored.append((score, agrees, -idea_id, post_id, idea_id))
    scored.sort(reverse=True)
    top = scored[:BRIDGING_SHOWN]
    titles = dict(Idea.objects.filter(pk__in=[t[4] for t in top]).values_list("pk", "title"))
    rank_of = {row.idea_id: row.rank for row in rounds[0].ideas} if rounds else {}
    rows = [
        BridgingRow(
            idea_id=idea_id,
            post_id=post_id,
            title=titles.get(idea_id, ""),
            url=reverse("ideas:idea", kwargs={"slug": jam.slug, "idea_id": idea_id}),
            score=score,
            rates=_rates(counts[post_id, idea_id], n_groups),
            rank=rank_of.get(idea_id),
        )
        for score, _agrees, _neg, post_id, idea_id in top
    ]
    return rows, len(scored)


def _dissent(jam: Jam, run: AnalysisRun | None, n_groups: int) -> list[DissentRow]:
    """The run's divisive statements (where the groups' agree rates differ most)."""
    if run is None or n_groups < 2:
        return []
    first = OpinionGroup.objects.filter(run=run).order_by("number").first()
    divisive = [int(pk) for pk in (first.divisive_post_ids if first else [])][:DISSENT_SHOWN]
    if not divisive:
        return []
    refs = post_refs(jam=jam, post_ids=divisive)
    counts = _group_counts(
        run, Q(user__reactions__post__jam=jam, user__reactions__post_id__in=divisive)
    )
    by_post = {post_id: by_group for (post_id, _idea), by_group in counts.items()}
    return [
        DissentRow(
            post_id=pk,
            text=refs[pk].text,
            url=refs[pk].url,
            rates=_rates(by_post.get(pk, {}), n_groups),
        )
        for pk in divisive
        if pk in refs
    ]


def _themes_and_shifts(jam: Jam, run: AnalysisRun | None) -> tuple[list[ThemeRow], list[ShiftRow]]:
    if run is None:
        return [], []
    themes = list(run.themes.all())
    shifts = list(run.shifts.all())
    wanted = [pk for t in themes for pk in t.representative_post_ids[: QUOTES_PER_THEME + 2]]
    wanted += [pk for s in shifts for pk in s.post_ids[:QUOTES_PER_THEME]]
    refs = post_refs(jam=jam, post_ids=wanted)
    analysed = max(1, int(run.summary.get("posts", 0)) or sum(t.size for t in themes))
    trends = theme_trends(run=run, themes=themes)
    theme_rows = [
        ThemeRow(
            id=t.pk,
            label=t.display_label,
            size=t.size,
            share=t.size / analysed,
            sentiment=t.sentiment,
            quotes=_distinct(refs[pk] for pk in t.representative_post_ids if pk in refs),
            trend=trends.get(t.pk),
        )
        for t in themes
    ]
    shift_rows = [
        ShiftRow(
            at=s.at,
            before=s.before,
            after=s.after,
            posts=[refs[pk] for pk in s.post_ids[:QUOTES_PER_THEME] if pk in refs],
        )
        for s in shifts
    ]
    return theme_rows, shift_rows


def _distinct(refs: Iterable[PostRef]) -> list[PostRef]:
    """Up to QUOTES_PER_THEME quotes, each text once (people repeat each other)."""
    seen: set[str] = set()
    out = []
    for ref in refs:
        if ref.text not in seen:
            seen.add(ref.text)
            out.append(ref)
    return out[:QUOTES_PER_THEME]


def _markers(jam: Jam) -> list[tuple[datetime, str, str]]:
    """Phase starts from the schedule (the stage follows the clock, so most phase changes
    are no event) and alerts from the event log, in time order."""
    markers = [
        (
            phase.starts_at,
            "phase.changed",
            _("%(phase)s phase begins") % {"phase": phase.get_kind_display()},
        )
        for phase in Phase.objects.filter(jam=jam).order_by("starts_at")
    ]
    for event in Event.objects.filter(jam=jam, name="alert").order_by("-seq")[:50]:
        markers.append((event.created_at, "alert", str(event.data.get("text", ""))[:80]))
    return sorted(markers)


def _per_topic_and_hour(
    queryset: Any, topic: str
) -> tuple[dict[int | None, int], dict[datetime, int]]:
    """Rows per topic and rows per UTC hour of ``created_at``, from one grouped query
    (topic x hour: a few hundred rows) instead of one scan for each."""
    expression, read = hour_expression()
    rows = (
        queryset.order_by()
        .annotate(hour=expression)
        .values_list(topic, "hour")
        .annotate(n=Count("id"))
    )
    by_topic: dict[int | None, int] = defaultdict(int)
    by_hour: dict[datetime, int] = defaultdict(int)
    for topic_id, hour, n in rows:
        by_topic[topic_id] += n
        if hour:
            by_hour[read(hour)] += n
    return by_topic, by_hour


def _people_by_topic(posts: Any, reactions: Any) -> dict[int, int]:
    """Distinct people who posted or reacted, per topic, counted in the database: the
    (topic, person) pairs of both querysets as one UNION ALL, grouped around it (the
    ORM cannot group a union). Fetching the distinct pairs instead moved ~55,000 rows
    per request for 150,000 reactions."""
    pairs = (
        posts.exclude(author=None)
        .order_by()
        .values(topic_key=F("topic_id"), person=F("author_id"))
        .union(
            reactions.exclude(user=None)
            .order_by()
            .values(topic_key=F("post__topic_id"), person=F("user_id")),
            all=True,
        )
        .order_by()  # not the model's default ordering, which is no column of the union
    )
    sql, params = pairs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pairs.topic_key, COUNT(DISTINCT pairs.person) "  # noqa: S608 - the ORM's SQL
            f"FROM ({sql}) pairs GROUP BY pairs.topic_key",
            params,
        )
        return {topic_id: n for topic_id, n in cursor.fetchall()}


def _participation(jam: Jam, *, members: int, rounds: list[RoundReport]) -> Participation:
    posts = Post.objects.filter(post_visible(), jam=jam)
    reactions = Reaction.objects.filter(post_visible("post__"), post__jam=jam)
    ballots = Ballot.objects.filter(round__jam=jam, size__gt=0)
    topics = list(
        Topic.objects.filter(jam=jam).order_by("position", "id").values_list("pk", "title")
    )

    post_counts, post_hours = _per_topic_and_hour(posts, "topic_id")
    reaction_counts, reaction_hours = _per_topic_and_hour(reactions, "post__topic_id")
    ballot_hours = {hour: row["n"] for hour, row in per_hour(ballots).items()}
    vote_counts = dict(
        RankedIdeaResult.objects.filter(result__round__jam=jam)
        .order_by()
        .values_list("idea__topic_id")
        .annotate(n=Sum("count"))
    )
    people_by_topic = _people_by_topic(posts, reactions)
    # Everyone who posted, reacted or voted, once (UNION drops duplicates).
    active = (
        posts.exclude(author=None)
        .order_by()
        .values_list("author_id")
        .union(
            reactions.exclude(user=None).order_by().values_list("user_id"),
            ballots.exclude(voter=None).order_by().values_list("voter_id"),
        )
        .count()
    )

    by_topic = [
        CountRow(
            label=title,
            people=people_by_topic.get(pk, 0),
            posts=post_counts.get(pk, 0),
            reactions=reaction_counts.get(pk, 0),
            votes=int(vote_counts.get(pk) or 0),
        )
        for pk, title in topics
    ]
    hours = set(post_hours) | set(reaction_hours) | set(ballot_hours)
    by_hour: list[HourRow] = []
    if hours:
        at, last = min(hours), max(hours)
        if last - at > MAX_HOURS:  # a stray early or late row: list active hours only
            return _participation_totals(
                members,
                active,
                post_counts,
                reaction_counts,
                rounds,
                by_topic,
                [
                    HourRow(
                        h, post_hours.get(h, 0), reaction_hours.get(h, 0), ballot_hours.get(h, 0)
                    )
                    for h in sorted(hours)
                ],
            )
        while at <= last:
            by_hour.append(
                HourRow(
                    start=at,
                    posts=post_hours.get(at, 0),
                    reactions=reaction_hours.get(at, 0),
                    ballots=ballot_hours.get(at, 0),
                )
            )
            at += timedelta(hours=1)
    return _participation_totals(
        members, active, post_counts, reaction_counts, rounds, by_topic, by_hour
    )


def _participation_totals(
    members: int,
    active: int,
    post_counts: dict[int | None, int],
    reaction_counts: dict[int | None, int],
    rounds: list[RoundReport],
    by_topic: list[CountRow],
    by_hour: list[HourRow],
) -> Participation:
    return Participation(
        members=members,
        people=active,
        posts=sum(post_counts.values()),
        reactions=sum(reaction_counts.values()),
        votes=sum(r.entries for r in rounds),
        voters=sum(r.ballots for r in rounds),
        by_topic=by_topic,
        by_hour=by_hour,
    )


def _timeline_chart(
    run: AnalysisRun | None, shifts: list[ShiftRow], markers: list[tuple[datetime, str, str]]
) -> SafeString | None:
    if run is None or not run.timeline.get("means"):
        return None
    shift_marks = [
        (
            s.at,
            s.before,
            s.after,
            _("Tone shift: %(before)+.2f to %(after)+.2f") % {"before": s.before, "after": s.after},
        )
        for s in shifts
    ]
    return charts.sentiment_timeline(
        run.timeline,
        shifts=shift_marks,
        markers=markers,
        chart_id="report-timeline",
        title=_("Sentiment over time"),
        desc=_(
            "Mean sentiment of scored posts per time bucket, from -1 (negative) to +1 "
            "(positive), as a solid line. %(shifts)d tone shift(s) as thick vertical lines "
            "with the mean before and after as dotted levels; %(phases)d phase start(s) as "
            "thin full-height bars and %(alerts)d alert(s) as triangles along the top."
        )
        % {
            "shifts": len(shifts),
            "phases": sum(1 for m in markers if m[1] == "phase.changed"),
            "alerts": sum(1 for m in markers if m[1] == "alert"),
        },
    )


# --- Charts ------------------------------------------------------------------------


def _patterns(chart_id: str) -> str:
    """Fills that stay apart in black and white: solid, diagonal hatch, dots."""
    return (
        "<defs>"
        f'<pattern id="{chart_id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="#ffffff"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{charts.INK}" stroke-width="2"/></pattern>'
        f'<pattern id="{chart_id}-dots" width="5" height="5" patternUnits="userSpaceOnUse">'
        f'<rect width="5" height="5" fill="#ffffff"/>'
        f'<circle cx="2.5" cy="2.5" r="1.3" fill="{charts.INK}"/></pattern>'
        f'<pattern id="{chart_id}-band" width="8" height="8" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        f'<rect width="8" height="8" fill="#ffffff"/>'
        f'<line x1="0" y1="0" x2="0" y2="8" stroke="{charts.LINE}" stroke-width="3"/></pattern>'
        "</defs>"
    )


def _svg_open(width: int, height: int, chart_id: str, title: str, desc: str, css: str) -> str:
    return "".join(charts._open(width, height, chart_id, title, desc, css))


def _scale(method: str, rows: Sequence[RankedRow]) -> tuple[float, float, list[float]]:
    if method in (Method.APPROVAL, Method.PAIRWISE):
        return 0.0, 1.0, [0.0, 0.25, 0.5, 0.75, 1.0]
    if method == Method.RATING:
        return 1.0, 5.0, [1.0, 2.0, 3.0, 4.0, 5.0]
    top = max([row.high for row in rows] + [1.0])
    step = top / 4
    return 0.0, top, [step * i for i in range(5)]


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def ranking_chart(
    rows: Sequence[RankedRow], *, method: str, chart_id: str, title: str, desc: str
) -> SafeString:
    """Dot-and-interval chart, best first; statistically tied ideas share a hatched band
    with a "tied 2-4" label, so ties read without colour."""
    width, left, right, top, row_h = 720, 250, 96, 26, 22
    height = top + row_h * max(1, len(rows)) + 28
    plot_w = width - left - right
    lo, hi, ticks = _scale(method, rows)
    span = (hi - lo) or 1.0

    def x_of(value: float) -> float:
        return left + plot_w * min(max((value - lo) / span, 0.0), 1.0)

    parts = [_svg_open(width, height, chart_id, title, desc, "chart ranking-chart")]
    parts.append(_patterns(chart_id))
    bottom = top + row_h * len(rows)
    for tick in ticks:
        x = x_of(tick)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{bottom}" stroke="{charts.LINE}"/>'
            f'<text x="{x:.1f}" y="{top - 8}" text-anchor="middle" font-size="11" '
            f'fill="{charts.MUTED}">{escape(_format(method, tick))}</text>'
        )
    drawn: set[int] = set()
    for row in rows:
        if not row.tied or row.tie_group in drawn:
            continue
        drawn.add(row.tie_group)
        members = [j for j, r in enumerate(rows) if r.tie_group == row.tie_group]
        y0, y1 = top + row_h * members[0], top + row_h * (members[-1] + 1)
        parts.append(
            f'<rect x="{left - 4}" y="{y0 + 1}" width="{plot_w + 8}" height="{y1 - y0 - 2}" '
            f'fill="url(#{chart_id}-band)" stroke="{charts.MUTED}" stroke-dasharray="3 2"/>'
            f'<path d="M{width - right + 6},{y0 + 3} h6 V{y1 - 3} h-6" fill="none" '
            f'stroke="{charts.INK}"/>'
            f'<text x="{width - right + 16}" y="{(y0 + y1) / 2 + 4:.1f}" font-size="11" '
            f'fill="{charts.INK}">{escape(row.tie_label)}</text>'
        )
    for i, row in enumerate(rows):
        y = top + row_h * i + row_h / 2
        label = _short(f"{row.rank}. {row.title}", 38)
        x_low, x_high, x_score = x_of(row.low), x_of(row.high), x_of(row.score)
        tooltip = f"{row.rank}. {row.title}: {row.score_text} ({row.interval_text})"
        parts.append(
            f"<g><title>{escape(tooltip)}</title>"
            f'<text x="{left - 10}" y="{y + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="{charts.INK}">{escape(label)}</text>'
            f'<line x1="{x_low:.1f}" y1="{y:.1f}" x2="{x_high:.1f}" y2="{y:.1f}" '
            f'stroke="{charts.INK}" stroke-width="2"/>'
            f'<line x1="{x_low:.1f}" y1="{y - 5:.1f}" x2="{x_low:.1f}" y2="{y + 5:.1f}" '
            f'stroke="{charts.INK}" stroke-width="2"/>'
            f'<line x1="{x_high:.1f}" y1="{y - 5:.1f}" x2="{x_high:.1f}" y2="{y + 5:.1f}" '
            f'stroke="{charts.INK}" stroke-width="2"/>'
            f'<circle cx="{x_score:.1f}" cy="{y:.1f}" r="4.5" fill="{charts.ACCENT}" '
            f'stroke="{charts.INK}" stroke-width="1.5"/></g>'
        )
    parts.append(
        f'<text x="{left}" y="{height - 8}" font-size="11" fill="{charts.MUTED}">'
        f"{escape(_('Dot: score. Line: uncertainty interval. Hatched band: statistically tied.'))}"
        "</text></svg>"
    )
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped


def activity_chart(hours: Sequence[HourRow], *, chart_id: str = "report-activity") -> SafeString:
    """Posts, reactions and ballots per hour as three bar panels on one time axis; each
    panel has its own fill pattern and its name written beside it."""
    width, left, right, top, panel_h, gap = 720, 110, 10, 12, 56, 22
    series = [
        ("posts", _("Posts"), charts.INK),
        ("reactions", _("Reactions"), f"url(#{chart_id}-hatch)"),
        ("ballots", _("Ballots cast"), f"url(#{chart_id}-dots)"),
    ]
    height = top + len(series) * (panel_h + gap) + 16
    plot_w = width - left - right
    step = plot_w / max(1, len(hours))
    bar_w = max(1.0, step * 0.8)
    peaks = {key: max([getattr(h, key) for h in hours] + [0]) for key, _n, _f in series}
    desc = _(
        "Activity per hour from %(start)s to %(end)s UTC: posts (solid bars), reactions "
        "(hatched) and ballots cast (dotted). Peaks: %(posts)d posts, %(reactions)d reactions, "
        "%(ballots)d ballots in one hour."
    ) % {
        "start": hours[0].start.strftime("%Y-%m-%d %H:%M"),
        "end": (hours[-1].start + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
        "posts": peaks["posts"],
        "reactions": peaks["reactions"],
        "ballots": peaks["ballots"],
    }
    parts = [
        _svg_open(width, height, chart_id, _("Activity per hour"), desc, "chart activity-chart")
    ]
    parts.append(_patterns(chart_id))
    for p, (key, name, fill) in enumerate(series):
        y0 = top + p * (panel_h + gap)
        base = y0 + panel_h
        peak = peaks[key] or 1
        parts.append(
            f'<text x="{left - 8}" y="{y0 + 14}" text-anchor="end" font-size="12" '
            f'fill="{charts.INK}">{escape(name)}</text>'
            f'<text x="{left - 8}" y="{y0 + 30}" text-anchor="end" font-size="11" '
            f'fill="{charts.MUTED}">{escape(_("max %(n)d/h") % {"n": peaks[key]})}</text>'
            f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" '
            f'stroke="{charts.MUTED}"/>'
        )
        for i, hour in enumerate(hours):
            value = getattr(hour, key)
            if not value:
                continue
            h = max(1.0, panel_h * value / peak)
            parts.append(
                f'<rect x="{left + i * step:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{fill}" stroke="{charts.INK}" stroke-width="0.6"/>'
            )
    axis_y = height - 6
    contiguous = hours[-1].start - hours[0].start == timedelta(hours=len(hours) - 1)
    day = hours[0].start.replace(hour=0) + timedelta(days=1)
    while contiguous and day <= hours[-1].start:
        x = left + step * ((day - hours[0].start).total_seconds() / 3600)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{axis_y - 10}" '
            f'stroke="{charts.LINE}" stroke-dasharray="2 3"/>'
            f'<text x="{x:.1f}" y="{axis_y}" text-anchor="middle" font-size="11" '
            f'fill="{charts.MUTED}">{escape(day.strftime("%m-%d"))}</text>'
        )
        day += timedelta(days=1)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped


# --- Serializations ----------------------------------------------------------------


def _rate_data(rates: Sequence[GroupRate]) -> list[dict[str, Any]]:
    return [
        {"group": r.group, "agree": r.agree, "reactions": r.reactions, "rate": r.rate}
        for r in rates
    ]


def report_payload(report: Report) -> dict[str, Any]:
    """The report's own sections as plain data (JSON-ready with DjangoJSONEncoder)."""
    p = report.participation
    return {
        "participation": {
            "members": p.members,
            "people": p.people,
            "posts": p.posts,
            "reactions": p.reactions,
            "votes": p.votes,
            "voters": p.voters,
            "turnout": [
                {
                    "round": r.round_id,
                    "ballots": r.ballots,
                    "eligible": r.eligible,
                    "turnout": r.turnout,
                }
                for r in report.rounds
            ],
            "by_topic": [
                {
                    "topic": row.label,
                    "people": row.people,
                    "posts": row.posts,
                    "reactions": row.reactions,
                    "votes": row.votes,
                }
                for row in p.by_topic
            ],
            "by_hour": [
                {
                    "hour": row.start,
                    "posts": row.posts,
                    "reactions": row.reactions,
                    "ballots": row.ballots,
                }
                for row in p.by_hour
            ],
        },
        "bridging": [
            {
                "idea": row.idea_id,
                "post": row.post_id,
                "title": row.title,
                "score": row.score,
                "rank": row.rank,
                "groups": _rate_data(row.rates),
            }
            for row in report.bridging
        ],
        "dissent": [
            {"post": row.post_id, "text": row.text, "groups": _rate_data(row.rates)}
            for row in report.dissent
        ],
        "markers": [{"at": at, "kind": kind, "text": text} for at, kind, text in report.markers],
        "timeline": report.run.timeline if report.run else {},
    }


def report_json(report: Report) -> str:
    """Everything in the report as JSON: the keys of ``jam_report`` (jam, rankings), when
    it was published (``published_at``), the analysis sections (run, themes, posts, shifts,
    groups) and the report's own (participation, bridging, dissent, markers, timeline).
    ``<``, ``>`` and ``&`` are written as ``\\u`` escapes, so the text is inert even if a
    client puts it in HTML."""
    from voting.selectors import rankings_for_jam

    jam = report.jam
    rankings = rankings_for_jam(jam=jam)
    extra = {row.idea_id: row for r in report.rounds for row in r.ideas}
    for ranking in rankings:
        for idea in ranking["ideas"]:
            row = extra.get(idea["id"])
            if row is not None:
                idea["topic"] = row.topic
                idea["summary"] = row.summary
                idea["tied_ranks"] = [row.tie_first, row.tie_last]
    data: dict[str, Any] = {
        "jam": {"slug": jam.slug, "title": jam.title},
        "rankings": rankings,
        "published_at": report.published_at,
    }
    data.update(analysis_report_sections(jam=jam))
    data.update(report_payload(report))
    text = json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def csv_cell(value: Any) -> Any:
    """A text cell a spreadsheet will not run: one starting like a formula gets a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


THEME_CSV_COLUMNS: Final = (
    "post_id",
    "created_at",
    "topic",
    "text",
    "sentiment",
    "agrees",
    "disagrees",
    "url",
)


class _Line:
    """What ``csv.writer`` writes to when each row is wanted as a string."""

    def write(self, line: str) -> str:
        return line


def theme_posts_csv(
    rows: Iterable[Sequence[Any]], *, post_url: Callable[[int, int], str]
) -> Iterable[str]:
    """A theme's posts (``selectors.theme_post_rows``) as CSV, a line at a time, so
    a theme of any size streams; times in UTC, ``post_url(idea_id, post_id)`` links
    each post. A byte-order mark first, so spreadsheet programs read UTF-8."""
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow(THEME_CSV_COLUMNS)
    for pk, idea_id, body, topic, created_at, sentiment, agrees, disagrees in rows:
        yield writer.writerow(
            [
                pk,
                created_at.astimezone(UTC).isoformat(),
                csv_cell(topic),
                csv_cell(body),
                "" if sentiment is None else round(sentiment, 4),
                agrees,
                disagrees,
                post_url(idea_id, pk),
            ]
        )


CSV_COLUMNS: Final = (
    "round",
    "method",
    "rank",
    "tied_ranks",
    "idea_id",
    "title",
    "topic",
    "summary",
    "score",
    "low",
    "high",
    "total",
    "n",
)


def report_csv(report: Report) -> str:
    """The ranking of every round, one idea per row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in report.rounds:
        for row in r.ideas:
            writer.writerow(
                [
                    csv_cell(r.title),
                    r.method,
                    row.rank,
                    f"{row.tie_first}-{row.tie_last}" if row.tied else "",
                    row.idea_id,
                    csv_cell(row.title),
                    csv_cell(row.topic),
                    csv_cell(row.summary),
                    repr(row.score),
                    repr(row.low),
                    repr(row.high),
                    repr(row.total),
                    row.n,
                ]
            )
    return out.getvalue()


@dataclass(frozen=True)
class ReportFile:
    content: bytes
    content_type: str
    filename: str


def report_render(*, report: Report, fmt: str) -> ReportFile:
    if fmt == "csv":
        # A byte-order mark so spreadsheet programs read UTF-8.
        body = ("\ufeff" + report_csv(report)).encode("utf-8")
        return ReportFile(body, "text/csv; charset=utf-8", f"{report.jam.slug}-ranking.csv")
    if fmt == "json":
        return ReportFile(
            report_json(report).encode("utf-8") + b"\n",
            "application/json",
            f"{report.jam.slug}-report.json",
        )
    if fmt == "pdf":
        from .pdf import report_pdf

        return ReportFile(report_pdf(report), "application/pdf", f"{report.jam.slug}-report.pdf")
    raise ValueError(f"unknown report format {fmt!r}")


def report_export(
    *, actor: User | None, jam: Jam, fmt: str, now: datetime | None = None
) -> ReportFile:
    """Produce an export and log it (``report.exported``). With an ``actor`` their right to
    export is checked; without one (the ``jam_report`` command) it is an operator's export."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown report format {fmt!r}")
    if actor is not None:
        jam_require(jam_context_for(jam=jam, user=actor), Action.EXPORT_REPORT, now=now)
    file = report_render(report=report_build(jam=jam, now=now), fmt=fmt)
    audit_append(
        jam=jam,
        actor=actor,
        action="report.exported",
        target=fmt,
        data={"format": fmt, "bytes": len(file.content), "via": "web" if actor else "command"},
    )
    return file


# --- Publishing ----------------------------------------------------------------------


def report_published_notify(jam: Jam) -> None:
    """Tell every member that the report is out: an in-app notification (a private
    ``notification`` event, kept in the event log and pushed live) and an email.

    Runs after the publish has committed. A member is told once per jam: withdrawing and
    publishing again (to correct something) does not mail everyone a second time.
    The one place to honour per-member notification settings once they exist.
    """
    path = reverse("analysis:report", kwargs={"slug": jam.slug})
    url = getattr(settings, "JAM_SITE_URL", "http://127.0.0.1:8000").rstrip("/") + path
    told = set(
        Event.objects.filter(jam=jam, name="notification", data__kind=NOTIFICATION_KIND)
        .exclude(recipient_id=None)
        .values_list("recipient_id", flat=True)
    )
    recipients = [
        m.user
        for m in Membership.objects.filter(jam=jam).select_related("user").order_by("id")
        if m.user_id not in told
    ]
    if not recipients:
        return
    with transaction.atomic():
        for user in recipients:
            realtime.event_record(
                jam_id=jam.pk,
                name="notification",
                recipient_id=user.pk,
                data={"kind": NOTIFICATION_KIND, "url": path, "title": jam.title},
            )
    messages = []
    for user in recipients:
        if not user.email:
            continue
        with translation.override(user.language or settings.LANGUAGE_CODE):
            subject = _("The results of %(jam)s are published") % {"jam": jam.title}
            body = _(
                "Hello %(name)s,\n\nthe organizers of %(jam)s have published the outcome "
                "report: the ranked ideas, the themes of the discussion and how people "
                "took part.\n\nRead it here: %(url)s\n"
            ) % {"name": user.display_name, "jam": jam.title, "url": url}
        messages.append(EmailMessage(subject, body, None, [user.email]))
    if messages:
        mailers.default.send_messages(messages)
