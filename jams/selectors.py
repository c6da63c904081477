"""Reads: what pages and sockets show. Each returns evaluated data."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import CharField, Count, Field, Model, OuterRef, Q, QuerySet, Subquery, Value
from django.utils import timezone, translation

from .errors import LoginRequired, NotFound
from .models import (
    AuditEntry,
    Invitation,
    Jam,
    JamText,
    LocalText,
    Membership,
    Phase,
    Role,
    Topic,
    TopicText,
    Visibility,
)
from .phases import JamState, PhaseWindow, jam_state
from .rules import Subject, subject_for

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


@dataclass
class JamContext:
    """A jam as one user sees it: the jam, their role and the schedule."""

    jam: Jam
    user: User | AnonymousUser
    role: str | None
    phases: list[Phase] = field(default_factory=list)

    @property
    def subject(self) -> Subject:
        return subject_for(self.user, self.role)

    @property
    def is_member(self) -> bool:
        return self.role is not None

    @cached_property
    def mfa_enabled(self) -> bool:
        from allauth.mfa.utils import is_mfa_enabled

        return bool(self.user.is_authenticated and is_mfa_enabled(self.user))

    def windows(self) -> list[PhaseWindow]:
        return [p.window() for p in self.phases]

    def state(self, now: datetime | None = None) -> JamState:
        return jam_state(
            self.windows(),
            published_at=self.jam.results_published_at,
            now=now or timezone.now(),
        )


def jam_context(*, slug: str, user: User | AnonymousUser, localize: bool = True) -> JamContext:
    """The jam by slug with the user's role and schedule, in two queries, and
    its texts in the active language (one more query when that is not the
    jam's default language).

    A missing jam is ``NotFound`` for members and ``LoginRequired`` for
    anonymous visitors, exactly as for a jam they may not see, so slugs do not
    leak.
    """
    jam = Jam.objects.filter(slug=slug).first()
    if jam is None:
        raise NotFound if user.is_authenticated else LoginRequired
    if localize:
        jams_localize([jam])
    return jam_context_for(jam=jam, user=user)


def jam_context_for(*, jam: Jam, user: User | AnonymousUser) -> JamContext:
    role = None
    if user.is_authenticated:
        role = Membership.objects.filter(jam=jam, user=user).values_list("role", flat=True).first()
    return JamContext(jam=jam, user=user, role=role, phases=list(jam.phases.all()))


def _columns(model: type[Model], alias: str) -> tuple[list[Field[Any, Any]], str]:
    fields = list(model._meta.concrete_fields)
    qn = connection.ops.quote_name
    return fields, ", ".join(f"{alias}.{qn(cast(str, f.column))}" for f in fields)


def _row[M: Model](model: type[M], fields: list[Field[Any, Any]], values: Sequence[Any]) -> M:
    values = [
        f.from_db_value(v, None, connection) if hasattr(f, "from_db_value") else v
        for f, v in zip(fields, values, strict=True)
    ]
    return model.from_db(connection.alias, [f.attname for f in fields], values)


_CONTEXT_SQL: (
    tuple[str, list[Field[Any, Any]], list[Field[Any, Any]], list[Field[Any, Any]]] | None
) = None


def member_context(*, jam_id: int, user_id: int) -> JamContext | None:
    """A member's context for a write from their socket, read fresh on every
    message. None when the user is no member: callers then take
    ``jam_context_for``, so a non-member is refused exactly as before.

    On PostgreSQL one plain statement: the membership's role, user, jam and
    the jam's phases (one row per phase, in ``Phase.Meta.ordering``). Each
    socket post ran the two compiled ORM queries, which were about half of
    its CPU; the same objects come back (tests/ideas/test_services_live.py
    pins them field by field against the ORM's). Elsewhere: the ORM's two
    queries."""
    global _CONTEXT_SQL
    if connection.vendor != "postgresql":
        return _member_context_orm(jam_id=jam_id, user_id=user_id)
    user_model = get_user_model()
    if _CONTEXT_SQL is None:
        user_fields, user_cols = _columns(user_model, "u")
        jam_fields, jam_cols = _columns(Jam, "j")
        phase_fields, phase_cols = _columns(Phase, "p")
        sql = (
            f"SELECT m.role, {user_cols}, {jam_cols}, {phase_cols} "  # noqa: S608 (names only)
            f"FROM {Membership._meta.db_table} m "
            f"JOIN {user_model._meta.db_table} u ON u.id = m.user_id "
            f"JOIN {Jam._meta.db_table} j ON j.id = m.jam_id "
            f"LEFT JOIN {Phase._meta.db_table} p ON p.jam_id = m.jam_id "
            "WHERE m.jam_id = %s AND m.user_id = %s ORDER BY p.starts_at, p.id"
        )
        _CONTEXT_SQL = (sql, user_fields, jam_fields, phase_fields)
    sql, user_fields, jam_fields, phase_fields = _CONTEXT_SQL
    with connection.cursor() as cursor:
        cursor.execute(sql, [jam_id, user_id])
        rows = cursor.fetchall()
    if not rows:
        return None
    first = rows[0]
    nu, nj = len(user_fields), len(jam_fields)
    user = _row(user_model, user_fields, first[1 : 1 + nu])
    jam = _row(Jam, jam_fields, first[1 + nu : 1 + nu + nj])
    phases = [
        _row(Phase, phase_fields, row[1 + nu + nj :])
        for row in rows
        if row[1 + nu + nj] is not None  # LEFT JOIN: a jam without phases
    ]
    return JamContext(jam=jam, user=user, role=first[0], phases=phases)


def _member_context_orm(*, jam_id: int, user_id: int) -> JamContext | None:
    """member_context through the ORM, in two queries (the membership with
    its user and jam, then the schedule)."""
    membership = (
        Membership.objects.select_related("user", "jam")
        .filter(jam_id=jam_id, user_id=user_id)
        .first()
    )
    if membership is None:
        return None
    jam = membership.jam
    return JamContext(
        jam=jam, user=membership.user, role=membership.role, phases=list(jam.phases.all())
    )


@dataclass(frozen=True)
class JamListItem:
    jam: Jam
    role: str | None
    state: JamState


def jams_for_user(*, user: User | AnonymousUser, now: datetime | None = None) -> list[JamListItem]:
    """Jams the user belongs to, then the ones they may join."""
    now = now or timezone.now()
    if user.is_authenticated:
        visible = Q(memberships__user=user) | Q(
            visibility__in=[Visibility.PUBLIC, Visibility.MEMBERS]
        )
    else:
        visible = Q(visibility=Visibility.PUBLIC)
    jams = list(Jam.objects.filter(visible).distinct().prefetch_related("phases"))
    jams_localize(jams)
    roles: dict[int, str] = {}
    if user.is_authenticated:
        roles = dict(Membership.objects.filter(user=user).values_list("jam_id", "role"))
    items = [
        JamListItem(
            jam=jam,
            role=roles.get(jam.pk),
            state=jam_state(
                [p.window() for p in jam.phases.all()],
                published_at=jam.results_published_at,
                now=now,
            ),
        )
        for jam in jams
    ]
    items.sort(key=lambda item: (item.role is None, -item.jam.created_at.timestamp()))
    return items


def topics_for_jam(*, jam: Jam) -> list[Topic]:
    """The jam's topics with their hosts, localized for the active language."""
    topics = list(jam.topics.prefetch_related("facilitators"))
    topics_localize(topics, jam=jam)
    return topics


# --- Texts in the viewer's language ------------------------------------------


def active_language() -> str:
    return translation.get_language() or settings.LANGUAGE_CODE


def _local(default: LocalText, text: JamText | TopicText | None) -> LocalText:
    """A translation field by field: a blank one falls back to the default."""
    if text is None or not (text.title or text.description):
        return default
    return LocalText(
        title=text.title or default.title,
        description=text.description or default.description,
        language=text.language,
    )


def jams_localize(jams: Iterable[Jam], *, language: str | None = None) -> None:
    """Set each jam's ``localized`` texts for ``language`` (default: the active
    one): in one query for all jams whose default language differs, else none."""
    language = language or active_language()
    jams = list(jams)
    others = [jam for jam in jams if jam.language != language]
    texts: dict[int, JamText] = {}
    if others:
        rows = JamText.objects.filter(jam__in=others, language=language)
        texts = {row.jam_id: row for row in rows}
    for jam in jams:
        jam.localized = _local(
            LocalText(jam.title, jam.description, jam.language), texts.get(jam.pk)
        )


def topics_localize(topics: Iterable[Topic], *, jam: Jam, language: str | None = None) -> None:
    """Set the ``localized`` texts of topics of ``jam``, like jams_localize."""
    language = language or active_language()
    topics = list(topics)
    texts: dict[int, TopicText] = {}
    if topics and jam.language != language:
        rows = TopicText.objects.filter(topic__in=topics, language=language)
        texts = {row.topic_id: row for row in rows}
    for topic in topics:
        topic.localized = _local(
            LocalText(topic.title, topic.description, jam.language), texts.get(topic.pk)
        )


def jam_texts(*, jam: Jam) -> dict[str, JamText]:
    """The jam's translations by language (the organizer console)."""
    return {text.language: text for text in jam.texts.all()}


def topic_texts(*, topic: Topic) -> dict[str, TopicText]:
    return {text.language: text for text in topic.texts.all()}


def members_for_jam(*, jam: Jam) -> QuerySet[Membership]:
    return jam.memberships.select_related("user").order_by("role", "user__email")


def role_counts(*, jam: Jam) -> dict[str, int]:
    rows = jam.memberships.values("role").annotate(n=Count("id"))
    counts = {role.value: 0 for role in Role}
    counts.update({row["role"]: row["n"] for row in rows})
    return counts


def invitations_for_jam(*, jam: Jam) -> QuerySet[Invitation]:
    return jam.invitations.filter(revoked_at__isnull=True).select_related("accepted_by")


def invitation_by_token(*, token: str) -> Invitation:
    invitation = Invitation.objects.select_related("jam").filter(token=token).first()
    if invitation is None:
        raise NotFound
    return invitation


def audit_for_jam(*, jam: Jam, limit: int = 200) -> list[AuditEntry]:
    return list(jam.audit_entries.all()[:limit])


def phase_payload(state: JamState) -> dict[str, object]:
    """The phase as live clients and the countdown see it."""
    return {
        "stage": state.stage.value,
        "kind": state.phase.kind.value if state.phase else None,
        "phase_id": state.phase.id if state.phase else None,
        "deadline": state.deadline.isoformat() if state.deadline else None,
        "next_kind": state.next_phase.kind.value if state.next_phase else None,
    }


# --- Live sockets ------------------------------------------------------------


@dataclass(frozen=True)
class SocketSnapshot:
    jam_id: int
    role: str
    seq: int
    hello: dict[str, object]


@dataclass(frozen=True)
class SocketJamState:
    """The part of a socket's snapshot that is the same for every member: the
    jam, its schedule and topics, read after its ``seq`` (so at least as new
    as that event; a client may see a topic before the event announcing it)."""

    jam: Jam
    phases: list[Phase]
    topics: list[dict[str, object]]
    seq: int


def socket_snapshot(*, slug: str, user: User | AnonymousUser) -> SocketSnapshot:
    """What a socket needs on connect, or NotFound/LoginRequired/Forbidden."""
    # Three queries: the jam with the user's role, its schedule, its topics.
    # This runs after the socket joined the hub, so the jam row's last_seq
    # read here is the snapshot's seq: every later event reaches the socket.
    role_of_user: Subquery | Value = Value(None, output_field=CharField())
    if user.is_authenticated:
        memberships = Membership.objects.filter(jam=OuterRef("pk"), user_id=user.pk)
        role_of_user = Subquery(memberships.values("role")[:1])
    jam = Jam.objects.filter(slug=slug).annotate(member_role=role_of_user).first()
    if jam is None:
        raise NotFound if user.is_authenticated else LoginRequired
    return socket_hello(_socket_jam_state(jam), user=user, role=jam.member_role)


def socket_jam_state(*, jam_id: int) -> SocketJamState | None:
    """The jam-wide part of a socket's snapshot (three queries), for the
    process's snapshot cache (jams/consumers.py); None for no such jam."""
    jam = Jam.objects.filter(pk=jam_id).first()
    return None if jam is None else _socket_jam_state(jam)


def _socket_jam_state(jam: Jam) -> SocketJamState:
    return SocketJamState(
        jam=jam,
        phases=list(jam.phases.all()),
        topics=[{"id": t.pk, "title": t.title} for t in jam.topics.all()],
        seq=jam.last_seq,
    )


def socket_hello(
    state: SocketJamState, *, user: User | AnonymousUser, role: str | None
) -> SocketSnapshot:
    """A member's snapshot from the jam-wide state and their role, or
    LoginRequired/Forbidden when they may not read the jam now (the phase
    comes from the clock, not from the state)."""
    from .rules import Action, jam_require

    ctx = JamContext(jam=state.jam, user=user, role=role, phases=state.phases)
    jam_require(ctx, Action.READ)
    role = ctx.role or ""
    hello = {
        "type": "hello",
        "seq": state.seq,
        "jam": {"slug": state.jam.slug, "title": state.jam.title},
        "role": role,
        "phase": phase_payload(ctx.state()),
        "topics": state.topics,
    }
    return SocketSnapshot(jam_id=state.jam.pk, role=role, seq=state.seq, hello=hello)


def socket_role(*, jam_id: int, user_id: int) -> str | None:
    return (
        Membership.objects.filter(jam_id=jam_id, user_id=user_id)
        .values_list("role", flat=True)
        .first()
    )


def socket_roles(*, jam_id: int, user_ids: list[int]) -> dict[int, str]:
    """The roles of those of ``user_ids`` who are members of the jam."""
    return dict(
        Membership.objects.filter(jam_id=jam_id, user_id__in=user_ids).values_list(
            "user_id", "role"
        )
    )


def latest_seqs(*, jam_ids: list[int]) -> dict[int, int]:
    return dict(Jam.objects.filter(pk__in=jam_ids).values_list("pk", "last_seq"))


@dataclass(frozen=True)
class ReplayPage:
    events: list[tuple[int, str]]  # (seq, client text)
    complete: bool


def events_after(
    *,
    jam_id: int,
    user_id: int,
    after: int,
    topics: frozenset[int],
    ideas: frozenset[int],
    limit: int = 500,
) -> ReplayPage:
    """Stored events after ``after`` that a socket with these subscriptions
    receives live: jam-wide ones, its topics', its ideas', and its own."""
    from .models import Event
    from .realtime import event_text

    jam_wide = Q(topic_id__isnull=True, idea_id__isnull=True, recipient_id__isnull=True)
    wanted = jam_wide | Q(recipient_id=user_id)
    if topics:
        wanted |= Q(topic_id__in=topics, recipient_id__isnull=True)
    if ideas:
        wanted |= Q(idea_id__in=ideas, recipient_id__isnull=True)
    rows = list(
        Event.objects.filter(wanted, jam_id=jam_id, seq__gt=after)
        .order_by("seq")
        .values_list("seq", "name", "data")[: limit + 1]
    )
    page = [(seq, event_text(seq=seq, name=name, data=data)) for seq, name, data in rows[:limit]]
    return ReplayPage(events=page, complete=len(rows) <= limit)


def events_between(*, jam_id: int, low: int, high: int) -> list[dict[str, Any]]:
    """Stored events ``low..high`` of a jam as the hub receives them live
    (jams.realtime.RecordedEvent.layer_message), for filling holes."""
    from .models import Event
    from .realtime import event_text

    rows = (
        Event.objects.filter(jam_id=jam_id, seq__gte=low, seq__lte=high)
        .order_by("seq")
        .values_list("seq", "name", "topic_id", "idea_id", "recipient_id", "data")
    )
    return [
        {
            "type": "hub.event",
            "jam": jam_id,
            "seq": seq,
            "topic": topic_id,
            "idea": idea_id,
            "recipient": recipient_id,
            "text": event_text(seq=seq, name=name, data=data),
        }
        for seq, name, topic_id, idea_id, recipient_id, data in rows
    ]
