"""Reads for the community pages: evaluated data in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Count, F, Q
from django.utils import timezone

from accounts.models import User
from ideas.models import Idea, Notification, Post, Reaction, post_visible
from jams.models import Alert, Jam, Membership

from .models import (
    ACTIVE_HELP,
    FacilitatorShift,
    GuidelinesAcceptance,
    HelpRequest,
    HostedSession,
    JamCommunity,
    NotificationPreference,
    SessionAnswer,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser


def community_for_jam(*, jam: Jam) -> JamCommunity | None:
    return JamCommunity.objects.filter(jam=jam).select_related("help_topic").first()


def guidelines_accepted(*, jam: Jam, user: User | AnonymousUser) -> bool:
    if not user.is_authenticated:
        return False
    return GuidelinesAcceptance.objects.filter(jam=jam, user_id=user.pk).exists()


# --- Wall ----------------------------------------------------------------------


def wall_posts(*, jam: Jam, limit: int = 20) -> list[Post]:
    """The newest visible posts across the jam."""
    return list(
        Post.objects.filter(post_visible(), jam=jam)
        .select_related("author", "idea")
        .order_by("-created_at", "-id")[:limit]
    )


def trending_ideas(
    *, jam: Jam, now: datetime | None = None, hours: float = 1.0, limit: int = 8
) -> list[dict[str, Any]]:
    """Ideas with the most replies and reactions in the last hour. Three queries."""
    since = (now or timezone.now()) - timedelta(hours=hours)
    scores: dict[int, int] = {}
    replies = (
        Post.objects.filter(jam=jam, parent__isnull=False, created_at__gte=since)
        .values("idea_id")
        .annotate(n=Count("id"))
    )
    for row in replies:
        scores[row["idea_id"]] = scores.get(row["idea_id"], 0) + row["n"]
    reactions = (
        Reaction.objects.filter(post__jam=jam, updated_at__gte=since)
        .values_list("post__idea_id")
        .annotate(n=Count("id"))
    )
    for idea_id, n in reactions:
        scores[idea_id] = scores.get(idea_id, 0) + n
    ideas = {
        idea.pk: idea
        for idea in Idea.objects.filter(
            pk__in=scores, hidden_at__isnull=True, merged_into__isnull=True
        ).only("id", "title", "jam_id", "topic_id")
    }
    ranked = sorted(ideas, key=lambda pk: (-scores[pk], -pk))[:limit]
    return [
        {"id": pk, "title": ideas[pk].title, "topic": ideas[pk].topic_id, "score": scores[pk]}
        for pk in ranked
    ]


def recent_alerts(*, jam: Jam, limit: int = 5) -> list[Alert]:
    return list(Alert.objects.filter(jam=jam).select_related("author")[:limit])


# --- Help radar --------------------------------------------------------------------


def help_queue(*, jam: Jam) -> list[HelpRequest]:
    """Open and claimed requests, oldest first. One query."""
    return list(
        HelpRequest.objects.filter(jam=jam, status__in=ACTIVE_HELP)
        .select_related("post__author", "post__idea", "post__topic", "claimed_by")
        .order_by("detected_at", "id")
    )


def help_recently_closed(*, jam: Jam, limit: int = 10) -> list[HelpRequest]:
    return list(
        HelpRequest.objects.filter(jam=jam)
        .exclude(status__in=ACTIVE_HELP)
        .select_related("post__idea", "closed_by")
        .order_by("-closed_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class Shifts:
    handoff: FacilitatorShift | None  # the latest ended shift with a note
    on_shift: list[FacilitatorShift]
    mine: FacilitatorShift | None


def shifts_for_jam(*, jam: Jam, user: User) -> Shifts:
    handoff = (
        FacilitatorShift.objects.filter(jam=jam, ended_at__isnull=False)
        .exclude(handoff_note="")
        .select_related("facilitator")
        .order_by("-ended_at", "-id")
        .first()
    )
    on_shift = list(
        FacilitatorShift.objects.filter(jam=jam, ended_at__isnull=True).select_related(
            "facilitator"
        )
    )
    mine = next((s for s in on_shift if s.facilitator_id == user.pk), None)
    return Shifts(handoff=handoff, on_shift=on_shift, mine=mine)


# --- Sessions ------------------------------------------------------------------------


def sessions_for_jam(*, jam: Jam) -> list[HostedSession]:
    return list(HostedSession.objects.filter(jam=jam).select_related("host", "topic"))


def session_in_jam(*, jam: Jam, session_id: int) -> HostedSession | None:
    return (
        HostedSession.objects.filter(jam=jam, pk=session_id)
        .select_related("host", "topic", "idea", "jam")
        .first()
    )


@dataclass(frozen=True)
class Question:
    post: Post
    votes: int
    answered: bool
    my_vote: bool


def session_questions(*, session: HostedSession, user_id: int | None) -> list[Question]:
    """Open questions by votes (then oldest first), answered ones last. Three queries."""
    posts = list(
        Post.objects.filter(idea_id=session.idea_id, depth=1, hidden_at__isnull=True)
        .select_related("author")
        .order_by("-agree_count", "created_at", "id")
    )
    answered = set(SessionAnswer.objects.filter(session=session).values_list("post_id", flat=True))
    mine: set[int] = set()
    if user_id is not None:
        mine = set(
            Reaction.objects.filter(
                post__idea_id=session.idea_id, user_id=user_id, value="agree"
            ).values_list("post_id", flat=True)
        )
    questions = [
        Question(post=p, votes=p.agree_count, answered=p.pk in answered, my_vote=p.pk in mine)
        for p in posts
    ]
    return sorted(questions, key=lambda q: q.answered)  # stable: keeps the vote order


# --- Notifications -------------------------------------------------------------------


@dataclass(frozen=True)
class NotificationItem:
    kind: str  # reply, mention, alert, session
    created_at: datetime
    jam: Jam
    text: str
    author: str
    url: str
    unread: bool
    notification_id: int | None = None


def _read_cursor(user: User) -> datetime | None:
    return (
        NotificationPreference.objects.filter(user=user)
        .values_list("alerts_read_at", flat=True)
        .first()
    )


def notifications_for_user(*, user: User, limit: int = 100) -> list[NotificationItem]:
    """Replies, mentions, alerts and session starts, newest first. Five queries."""
    from django.urls import reverse

    cursor = _read_cursor(user)
    memberships = {m.jam_id: m for m in Membership.objects.filter(user=user).select_related("jam")}
    items = [
        NotificationItem(
            kind=n.kind,
            created_at=n.created_at,
            jam=n.jam,
            text=n.post.idea.title,
            author=n.post.author.display_name if n.post.author else "",
            url=n.post.get_absolute_url(),
            unread=n.read_at is None,
            notification_id=n.pk,
        )
        for n in Notification.objects.filter(user=user, jam_id__in=memberships).select_related(
            "jam", "post__idea__jam", "post__author"
        )[:limit]
    ]
    for alert in (
        Alert.objects.filter(jam_id__in=memberships)
        .exclude(author=user)
        .select_related("author", "jam")[:limit]
    ):
        items.append(
            NotificationItem(
                kind="alert",
                created_at=alert.created_at,
                jam=alert.jam,
                text=alert.text,
                author=alert.author.display_name if alert.author else "",
                url=alert.jam.get_absolute_url(),
                unread=cursor is None or alert.created_at > cursor,
            )
        )
    for session in (
        HostedSession.objects.filter(jam_id__in=memberships, announced_at__isnull=False)
        .select_related("jam", "host")
        .order_by("-announced_at")[:limit]
    ):
        items.append(
            NotificationItem(
                kind="session",
                created_at=session.announced_at or session.starts_at,
                jam=session.jam,
                text=session.title,
                author=session.host.display_name if session.host else "",
                url=reverse("community:session", args=[session.jam.slug, session.pk]),
                unread=cursor is None or (session.announced_at or session.starts_at) > cursor,
            )
        )
    items.sort(key=lambda i: i.created_at, reverse=True)
    # Alerts and sessions before joining the jam are not news.
    return [
        i for i in items if i.notification_id or i.created_at >= memberships[i.jam.pk].joined_at
    ][:limit]


def unread_count(*, user: User) -> int:
    """The header badge: three counting queries."""
    cursor = _read_cursor(user)
    n = Notification.objects.filter(user=user, read_at__isnull=True).count()
    alerts = Q(jam__memberships__user=user, created_at__gte=F("jam__memberships__joined_at"))
    sessions = Q(
        jam__memberships__user=user,
        announced_at__isnull=False,
        announced_at__gte=F("jam__memberships__joined_at"),
    )
    if cursor is not None:
        alerts &= Q(created_at__gt=cursor)
        sessions &= Q(announced_at__gt=cursor)
    n += Alert.objects.filter(alerts).exclude(author=user).count()
    n += HostedSession.objects.filter(sessions).count()
    return n


# --- Directory and profiles ----------------------------------------------------------


def directory(*, jam: Jam, query: str = "", limit: int = 200) -> list[Membership]:
    """Members of the jam, searchable by name, expertise, unit and location."""
    members = Membership.objects.filter(jam=jam).select_related("user")
    for word in query.split()[:5]:
        members = members.filter(
            Q(user__name__icontains=word)
            | Q(user__expertise__icontains=word)
            | Q(user__organization_unit__icontains=word)
            | Q(user__location__icontains=word)
            | Q(user__job_title__icontains=word)
        )
    return list(members.order_by("user__name", "user__email")[:limit])


def member_in_jam(*, jam: Jam, user_id: int) -> Membership | None:
    return Membership.objects.filter(jam=jam, user_id=user_id).select_related("user").first()


def member_posts(*, jam: Jam, user_id: int, limit: int = 50) -> list[Post]:
    return list(
        Post.objects.filter(post_visible(), jam=jam, author_id=user_id)
        .select_related("idea")
        .order_by("-created_at", "-id")[:limit]
    )


# --- What became of my input -------------------------------------------------------


@dataclass(frozen=True)
class MyPost:
    post: Post
    theme: str | None


@dataclass(frozen=True)
class MyIdeaRank:
    idea_id: int
    title: str
    round_title: str
    rank: int
    of: int


@dataclass(frozen=True)
class MyInput:
    posts: list[MyPost]
    themes: list[tuple[str, int]]  # (label, how many of my posts)
    analysed_at: datetime | None
    ranks: list[MyIdeaRank]


def my_input(*, jam: Jam, user: User, include_ranks: bool, limit: int = 200) -> MyInput:
    """A member's posts in the jam, the themes they landed in (latest done
    analysis run) and, when ``include_ranks``, how their ideas ranked. At
    most five queries."""
    from analysis.models import AnalysisRun, PostTheme
    from voting.models import RankedIdeaResult

    posts = list(
        Post.objects.filter(jam=jam, author=user)
        .select_related("idea")
        .order_by("-created_at", "-id")[:limit]
    )
    run = AnalysisRun.objects.done().filter(jam=jam).order_by("-finished_at", "-id").first()
    labels: dict[int, str] = {}
    if run is not None and posts:
        labels = {
            pt.post_id: pt.theme.display_label
            for pt in PostTheme.objects.filter(run=run, post__in=posts).select_related("theme")
        }
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    ranks: list[MyIdeaRank] = []
    if include_ranks:
        rows = (
            RankedIdeaResult.objects.filter(result__round__jam=jam, idea__author=user)
            .select_related("idea", "result__round")
            .annotate(of=Count("result__ideas"))
            .order_by("result__round__created_at", "rank")
        )
        ranks = [
            MyIdeaRank(
                idea_id=r.idea_id,
                title=r.idea.title,
                round_title=r.result.round.title,
                rank=r.rank,
                of=r.of,
            )
            for r in rows
        ]
    return MyInput(
        posts=[MyPost(post=p, theme=labels.get(p.pk)) for p in posts],
        themes=sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])),
        analysed_at=run.finished_at if run else None,
        ranks=ranks,
    )
