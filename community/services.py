"""Writes for the community features: guidelines, the help radar, shifts,
hosted sessions, notification settings and emails, profiles.

Each service takes the acting user, checks jams.rules itself, writes in one
transaction, records its live event in that transaction (jams.realtime) and
sends mail only after commit. ideas.services calls three hooks from here:
``guidelines_check`` (before a post), ``help_detect`` (inside the post's
transaction) and ``notification_email_queue`` (for a new notification).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User, tags_normalize
from ideas.models import Idea, Notification, Post
from ideas.rendering import markdown_render
from jams import realtime
from jams.errors import Forbidden, GuidelinesRequired, Invalid, NotFound
from jams.models import Alert, Jam, Membership, Topic
from jams.phases import Stage
from jams.rules import Action, jam_check, jam_require
from jams.selectors import JamContext, jam_context_for
from jams.services import audit_append

from .detection import help_signal
from .models import (
    ACTIVE_HELP,
    EmailDelivery,
    EmailMode,
    FacilitatorShift,
    GuidelinesAcceptance,
    HelpReason,
    HelpRequest,
    HelpStatus,
    HostedSession,
    JamCommunity,
    NotificationPreference,
    SessionAnswer,
)

if TYPE_CHECKING:
    from ideas.services import Written

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "community.unsubscribe"


def _context(jam: Jam, actor: User, action: Action, now: datetime | None = None) -> JamContext:
    ctx = jam_context_for(jam=jam, user=actor)
    jam_require(ctx, action, now=now)
    return ctx


def community_of(jam: Jam) -> JamCommunity:
    community, _created = JamCommunity.objects.get_or_create(jam=jam)
    return community


# --- Guidelines ----------------------------------------------------------------


def guidelines_update(
    *,
    actor: User,
    jam: Jam,
    guidelines: str,
    help_topic: Topic | None,
    unanswered_minutes: int,
    now: datetime | None = None,
) -> JamCommunity:
    _context(jam, actor, Action.MANAGE_GUIDELINES, now)
    if help_topic is not None and help_topic.jam_id != jam.pk:
        raise NotFound
    if unanswered_minutes < 1:
        raise Invalid(_("Give at least one minute."))
    now = now or timezone.now()
    guidelines = guidelines.strip()
    with transaction.atomic():
        community = community_of(jam)
        fields = ["help_topic", "unanswered_minutes"]
        if guidelines != community.guidelines:
            community.guidelines = guidelines
            community.guidelines_html = markdown_render(guidelines) if guidelines else ""
            community.guidelines_updated_at = now
            fields += ["guidelines", "guidelines_html", "guidelines_updated_at"]
        community.help_topic = help_topic
        community.unanswered_minutes = unanswered_minutes
        community.save(update_fields=fields)
        audit_append(
            jam=jam,
            actor=actor,
            action="community.updated",
            data={
                "guidelines_changed": "guidelines" in fields,
                "help_topic": help_topic.pk if help_topic else None,
                "unanswered_minutes": unanswered_minutes,
            },
        )
    return community


def help_topic_create(*, actor: User, jam: Jam) -> Topic:
    """Create the jam's help topic, where the community answers itself."""
    from jams.services import topic_create

    _context(jam, actor, Action.MANAGE_GUIDELINES)
    with transaction.atomic():
        community = community_of(jam)
        if community.help_topic_id is not None:
            raise Invalid(_("This jam has a help topic already."))
        topic = topic_create(
            actor=actor,
            jam=jam,
            title=_("Help and questions"),
            description=_("Ask anything about taking part; everyone can answer."),
        )
        community.help_topic = topic
        community.save(update_fields=["help_topic"])
    return topic


def guidelines_accept(*, actor: User, jam: Jam, now: datetime | None = None) -> None:
    _context(jam, actor, Action.READ, now)
    GuidelinesAcceptance.objects.get_or_create(
        jam=jam, user=actor, defaults={"accepted_at": now or timezone.now()}
    )


def guidelines_check(*, jam_id: int, user_id: int) -> None:
    """Hook for ideas.services: refuse a post until the member has accepted
    the jam's guidelines (when it has any). One query, read on every post.

    Plain SQL: it runs on every socket post, and compiling the same
    ``Exists`` through the ORM each time was about a fifth of a post's CPU
    (docs/benchmarks.md, Posting). The statement is the one the ORM built."""
    with connection.cursor() as cursor:
        cursor.execute(_GUIDELINES_MISSING_SQL, [jam_id, user_id])
        missing = cursor.fetchone() is not None
    if missing:
        raise GuidelinesRequired


# community_jamcommunity / community_guidelinesacceptance: JamCommunity and
# GuidelinesAcceptance (tests/community cover both outcomes on both databases).
_GUIDELINES_MISSING_SQL = (
    "SELECT 1 FROM community_jamcommunity c WHERE c.jam_id = %s AND c.guidelines <> '' "
    "AND NOT EXISTS (SELECT 1 FROM community_guidelinesacceptance a "
    "WHERE a.jam_id = c.jam_id AND a.user_id = %s) LIMIT 1"
)


# --- Help radar ----------------------------------------------------------------


def _help_changed(jam_id: int, ids: list[int], status: str) -> None:
    """One jam-wide event with ids only: radar pages refetch their queue."""
    realtime.event_record(
        jam_id=jam_id, name="help.changed", data={"ids": sorted(ids), "status": status}
    )


def help_detect(post: Post, *, now: datetime | None = None) -> None:
    """Hook for ideas.services, inside the transaction that wrote ``post``.

    A reply answers the open help requests of its parent and of its
    thread's opening post (unless the asker replied to themselves); the new
    post joins the radar when it asks a question or for help. Session
    threads are left out: their questions are for the host.
    """
    now = now or timezone.now()
    answered: list[int] = []
    if post.parent_id is not None:
        opening = (
            Post.objects.filter(idea_id=post.idea_id, parent__isnull=True)
            .values_list("pk", flat=True)
            .first()
        )
        targets = {post.parent_id} | ({opening} if opening is not None else set())
        requests = HelpRequest.objects.active().filter(post_id__in=targets)
        if post.author_id is not None:
            requests = requests.exclude(post__author_id=post.author_id)
        answered = list(requests.values_list("pk", flat=True))
        if answered:
            HelpRequest.objects.filter(pk__in=answered).update(
                status=HelpStatus.ANSWERED, closed_at=now, closed_by=post.author_id
            )
            _help_changed(post.jam_id, answered, HelpStatus.ANSWERED)
    reason = help_signal(post.body)
    if reason is None or HostedSession.objects.filter(idea_id=post.idea_id).exists():
        return
    request = HelpRequest.objects.create(
        jam_id=post.jam_id, post=post, reason=reason, detected_at=now
    )
    _help_changed(post.jam_id, [request.pk], HelpStatus.OPEN)


def help_unanswered_scan(*, jam: Jam, now: datetime | None = None) -> int:
    """Put ideas that nobody answered for the jam's set minutes on the radar.
    Cheap enough for a page load (one indexed query when there is nothing
    to do); also run by ``manage.py help_scan``. Only during the discussion."""
    now = now or timezone.now()
    ctx = jam_context_for(jam=jam, user=_nobody())
    if ctx.state(now).stage is not Stage.DISCUSSION:
        return 0
    community = JamCommunity.objects.filter(jam=jam).first()
    minutes = (
        community.unanswered_minutes
        if community
        else int(settings.COMMUNITY_HELP_UNANSWERED_MINUTES)
    )
    cutoff = now - timedelta(minutes=minutes)
    candidates = list(
        Post.objects.filter(
            jam=jam,
            parent__isnull=True,
            hidden_at__isnull=True,
            created_at__lte=cutoff,
            idea__reply_count=0,
            idea__merged_into__isnull=True,
            idea__hosted_session__isnull=True,
            help_request__isnull=True,
        ).values_list("pk", flat=True)[:200]
    )
    if not candidates:
        return 0
    with transaction.atomic():
        created = []
        for post_id in candidates:
            try:
                with transaction.atomic():
                    created.append(
                        HelpRequest.objects.create(
                            jam=jam, post_id=post_id, reason=HelpReason.UNANSWERED, detected_at=now
                        ).pk
                    )
            except IntegrityError:
                continue  # found by a concurrent scan
        if created:
            _help_changed(jam.pk, created, HelpStatus.OPEN)
    return len(created)


def _nobody() -> Any:
    from django.contrib.auth.models import AnonymousUser

    return AnonymousUser()


def help_claim(*, actor: User, request: HelpRequest, now: datetime | None = None) -> HelpRequest:
    _context(request.jam, actor, Action.HELP_RADAR, now)
    now = now or timezone.now()
    with transaction.atomic():
        request = HelpRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != HelpStatus.OPEN:
            raise Invalid(_("Someone has taken care of this already."))
        request.status, request.claimed_by, request.claimed_at = HelpStatus.CLAIMED, actor, now
        request.save(update_fields=["status", "claimed_by", "claimed_at"])
        _help_changed(request.jam_id, [request.pk], request.status)
    return request


def help_resolve(*, actor: User, request: HelpRequest, now: datetime | None = None) -> HelpRequest:
    _context(request.jam, actor, Action.HELP_RADAR, now)
    now = now or timezone.now()
    with transaction.atomic():
        request = HelpRequest.objects.select_for_update().get(pk=request.pk)
        if request.status not in ACTIVE_HELP:
            return request
        request.status, request.closed_by, request.closed_at = HelpStatus.RESOLVED, actor, now
        request.save(update_fields=["status", "closed_by", "closed_at"])
        audit_append(
            jam=request.jam, actor=actor, action="help.resolved", target=f"post {request.post_id}"
        )
        _help_changed(request.jam_id, [request.pk], request.status)
    return request


# --- Facilitator shifts --------------------------------------------------------


def shift_start(*, actor: User, jam: Jam, now: datetime | None = None) -> FacilitatorShift:
    _context(jam, actor, Action.HELP_RADAR, now)
    try:
        with transaction.atomic():
            return FacilitatorShift.objects.create(
                jam=jam, facilitator=actor, started_at=now or timezone.now()
            )
    except IntegrityError as exc:
        raise Invalid(_("You are on shift already.")) from exc


def shift_end(
    *, actor: User, jam: Jam, handoff_note: str, now: datetime | None = None
) -> FacilitatorShift:
    _context(jam, actor, Action.HELP_RADAR, now)
    with transaction.atomic():
        shift = (
            FacilitatorShift.objects.select_for_update()
            .filter(jam=jam, facilitator=actor, ended_at__isnull=True)
            .first()
        )
        if shift is None:
            raise Invalid(_("You are not on shift."))
        shift.ended_at = max(now or timezone.now(), shift.started_at)
        shift.handoff_note = handoff_note.strip()
        shift.save(update_fields=["ended_at", "handoff_note"])
    return shift


# --- Hosted sessions -------------------------------------------------------------


def session_schedule(
    *,
    actor: User,
    jam: Jam,
    topic: Topic,
    title: str,
    description: str,
    host: User,
    guest: str,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime | None = None,
) -> HostedSession:
    """Schedule a live session in a topic. Its thread (an idea authored by
    the organizer) holds the questions, so they feed the analysis."""
    from ideas.services import post_payload

    _context(jam, actor, Action.MANAGE_SESSIONS, now)
    if topic.jam_id != jam.pk:
        raise NotFound
    if not Membership.objects.filter(jam=jam, user=host).exists():
        raise Invalid(_("The host must be a member of this jam."))
    if starts_at >= ends_at:
        raise Invalid(_("A session must start before it ends."))
    title = " ".join(title.split())
    if not title:
        raise Invalid(_("A session needs a title."))
    now = now or timezone.now()
    body = description.strip() or title
    with transaction.atomic():
        idea = Idea.objects.create(
            jam=jam, topic=topic, author=actor, title=title[:200], created_at=now,
            last_activity_at=now,
        )  # fmt: skip
        opening = Post.objects.create(
            jam=jam, topic=topic, idea=idea, author=actor, body=body,
            body_html=markdown_render(body), created_at=now,
        )  # fmt: skip
        session = HostedSession.objects.create(
            jam=jam, topic=topic, idea=idea, title=title[:200], host=host, guest=guest.strip(),
            starts_at=starts_at, ends_at=ends_at, created_by=actor, created_at=now,
        )  # fmt: skip
        audit_append(jam=jam, actor=actor, action="session.scheduled", target=title)
        realtime.event_record(
            jam_id=jam.pk,
            name="post.created",
            topic_id=topic.pk,
            idea_id=idea.pk,
            data=post_payload(opening, title=idea.title),
        )
    return session


def session_question_ask(
    *,
    actor: User,
    session: HostedSession,
    body: str,
    client_id: str | None = None,
    now: datetime | None = None,
) -> Written:
    """A question is a reply to the session's opening post."""
    from ideas.services import reply_create

    _context(session.jam, actor, Action.ASK_SESSION_QUESTION, now)
    if (now or timezone.now()) >= session.ends_at:
        raise Invalid(_("This session has ended."))
    return reply_create(actor=actor, idea=session.idea, body=body, client_id=client_id, now=now)


def _session_question(session: HostedSession, post: Post) -> None:
    if post.idea_id != session.idea_id or post.parent_id is None or post.depth != 1:
        raise NotFound


def session_question_upvote(
    *, actor: User, session: HostedSession, post: Post, now: datetime | None = None
) -> Written:
    """An upvote is an agree reaction on the question (see docs/community.md)."""
    from ideas.services import reaction_set

    _session_question(session, post)
    _context(session.jam, actor, Action.ASK_SESSION_QUESTION, now)
    return reaction_set(actor=actor, post=post, value="agree", now=now)


def session_question_answer(
    *, actor: User, session: HostedSession, post: Post, now: datetime | None = None
) -> SessionAnswer:
    """The host (or an organizer) marks a question answered."""
    _session_question(session, post)
    ctx = _context(session.jam, actor, Action.READ, now)
    if session.host_id != actor.pk and not jam_check(ctx, Action.MANAGE_SESSIONS, now=now):
        raise Forbidden(_("Only the host or an organizer marks questions answered."))
    with transaction.atomic():
        answer, created = SessionAnswer.objects.get_or_create(
            session=session,
            post=post,
            defaults={"answered_by": actor, "answered_at": now or timezone.now()},
        )
        if created:
            realtime.event_record(
                jam_id=session.jam_id,
                name="session.answered",
                topic_id=session.topic_id,
                idea_id=session.idea_id,
                data={"session": session.pk, "post": post.pk},
            )
    return answer


def sessions_announce(*, now: datetime | None = None, jam: Jam | None = None) -> list[int]:
    """Announce every session whose start has passed and that is still on:
    a jam-wide ``session.started`` event, once (a conditional UPDATE is the
    claim), and emails to members who want them right away. Called lazily
    by pages and every minute by ``manage.py session_alerts``."""
    now = now or timezone.now()
    due = HostedSession.objects.live(now).filter(announced_at__isnull=True)
    if jam is not None:
        due = due.filter(jam=jam)
    announced = []
    for session in due.select_related("host"):
        with transaction.atomic():
            claimed = HostedSession.objects.filter(pk=session.pk, announced_at__isnull=True).update(
                announced_at=now
            )
            if not claimed:
                continue
            realtime.event_record(
                jam_id=session.jam_id,
                name="session.started",
                data={
                    "id": session.pk,
                    "title": session.title,
                    "topic": session.topic_id,
                    "idea": session.idea_id,
                    "host": session.host.display_name if session.host else "",
                    "guest": session.guest,
                    "ends_at": session.ends_at,
                    "url": reverse("community:session", args=[session.jam.slug, session.pk]),
                },
            )
            transaction.on_commit(_session_emails_later(session.pk))
        announced.append(session.pk)
    return announced


def _session_emails_later(session_id: int) -> Callable[[], object]:
    return lambda: session_emails_send(session_id=session_id)


# --- Notifications and email ---------------------------------------------------------


def email_mode_of(user: User) -> str:
    preference = NotificationPreference.objects.filter(user=user)
    mode = preference.values_list("email_mode", flat=True).first()
    return mode or str(settings.COMMUNITY_EMAIL_DEFAULT)


def notification_preference_set(*, user: User, email_mode: str) -> NotificationPreference:
    EmailMode(email_mode)
    preference, _created = NotificationPreference.objects.update_or_create(
        user=user, defaults={"email_mode": email_mode}
    )
    return preference


def notifications_mark_read(
    *, user: User, notification_id: int | None = None, now: datetime | None = None
) -> int:
    """Mark one notification read, or everything (alerts and session starts too)."""
    now = now or timezone.now()
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_id is not None:
        return unread.filter(pk=notification_id).update(read_at=now)
    with transaction.atomic():
        n = unread.update(read_at=now)
        NotificationPreference.objects.update_or_create(
            user=user,
            defaults={"alerts_read_at": now},
            create_defaults={"alerts_read_at": now, "email_mode": email_mode_of(user)},
        )
    return n


def unsubscribe_token(user: User) -> str:
    return signing.dumps({"u": user.pk}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_url(user: User) -> str:
    path = reverse("community:unsubscribe", args=[unsubscribe_token(user)])
    return settings.JAM_SITE_URL.rstrip("/") + path


def unsubscribe(*, token: str) -> User:
    """Turn notification email off for the token's owner; no sign-in needed.
    The token is signed (django.core.signing) and names only the user."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature as exc:
        raise NotFound from exc
    user_id = data.get("u") if isinstance(data, dict) else None
    user = User.objects.filter(pk=user_id).first() if isinstance(user_id, int) else None
    if user is None:
        raise NotFound
    notification_preference_set(user=user, email_mode=EmailMode.OFF)
    return user


def _site(path: str) -> str:
    return settings.JAM_SITE_URL.rstrip("/") + path


def _deliver_once(*, user: User, key: str, template: str, context: dict[str, Any]) -> bool:
    """Send one email to ``user`` unless one with ``key`` went out before.
    The EmailDelivery row is the claim; it is rolled back if sending fails."""
    url = unsubscribe_url(user)
    with translation.override(user.language or settings.LANGUAGE_CODE):
        text = render_to_string(template, {**context, "user": user, "unsubscribe_url": url})
    subject, _sep, body = text.strip().partition("\n")
    try:
        with transaction.atomic():
            EmailDelivery.objects.create(user=user, key=key)
            EmailMessage(
                subject=subject.strip(),
                body=body.lstrip("\n"),
                to=[user.email],
                headers={
                    "List-Unsubscribe": f"<{url}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                },
            ).send()
    except IntegrityError:
        return False
    return True


def notification_email_queue(notification: Notification) -> None:
    """Hook for ideas.services: after commit, email a new notification to a
    member who wants email right away."""
    notification_id = notification.pk
    transaction.on_commit(lambda: notification_email_send(notification_id=notification_id))


def notification_email_send(*, notification_id: int) -> bool:
    notification = (
        Notification.objects.select_related("user", "jam", "post__idea", "post__author")
        .filter(pk=notification_id)
        .first()
    )
    if notification is None or email_mode_of(notification.user) != EmailMode.IMMEDIATE:
        return False
    try:
        return _deliver_once(
            user=notification.user,
            key=f"notification:{notification.pk}",
            template="community/email/notification.txt",
            context={
                "notification": notification,
                "url": _site(notification.post.get_absolute_url()),
            },
        )
    except Exception:
        logger.exception("notification email %s failed", notification_id)
        return False


def session_emails_send(*, session_id: int) -> int:
    session = HostedSession.objects.select_related("jam", "host").get(pk=session_id)
    users = User.objects.filter(memberships__jam_id=session.jam_id, is_active=True)
    sent = 0
    for user in users:
        if email_mode_of(user) != EmailMode.IMMEDIATE:
            continue
        try:
            sent += _deliver_once(
                user=user,
                key=f"session:{session.pk}",
                template="community/email/session.txt",
                context={
                    "session": session,
                    "url": _site(reverse("community:session", args=[session.jam.slug, session.pk])),
                },
            )
        except Exception:
            logger.exception("session email %s to %s failed", session_id, user.pk)
    return sent


def alert_emails_queue(alert: Alert) -> None:
    """Hook for jams.services.alert_send: after commit, email the alert to
    members who want email right away (the digest carries it otherwise)."""
    alert_id = alert.pk
    transaction.on_commit(lambda: alert_emails_send(alert_id=alert_id))


def alert_emails_send(*, alert_id: int) -> int:
    alert = Alert.objects.select_related("jam", "author").get(pk=alert_id)
    users = User.objects.filter(memberships__jam_id=alert.jam_id, is_active=True)
    sent = 0
    if alert.author_id is not None:
        users = users.exclude(pk=alert.author_id)
    for user in users:
        if email_mode_of(user) != EmailMode.IMMEDIATE:
            continue
        try:
            sent += _deliver_once(
                user=user,
                key=f"alert:{alert.pk}",
                template="community/email/alert.txt",
                context={"alert": alert, "url": _site(alert.jam.get_absolute_url())},
            )
        except Exception:
            logger.exception("alert email %s to %s failed", alert_id, user.pk)
    return sent


def digests_send(*, now: datetime | None = None) -> int:
    """The daily digest for members who chose it: unread replies and
    mentions, alerts and session starts since the last digest (at most a
    day back for a first digest). The digest cursor advances in the same
    transaction as the delivery claim, so a digest never repeats."""
    now = now or timezone.now()
    default_digest = settings.COMMUNITY_EMAIL_DEFAULT == EmailMode.DIGEST
    mode = Q(notification_preference__email_mode=EmailMode.DIGEST)
    if default_digest:
        mode |= Q(notification_preference__isnull=True)
    users = User.objects.filter(mode, is_active=True, memberships__isnull=False).distinct()
    sent = 0
    for user in users:
        with transaction.atomic():
            preference, _created = NotificationPreference.objects.select_for_update().get_or_create(
                user=user, defaults={"email_mode": EmailMode.DIGEST}
            )
            since = preference.digest_sent_at or (now - timedelta(days=1))
            items = digest_items(user=user, since=since, until=now)
            preference.digest_sent_at = now
            preference.save(update_fields=["digest_sent_at"])
            if not any(items.values()):
                continue
            sent += _deliver_once(
                user=user,
                key=f"digest:{now:%Y%m%dT%H%M}",
                template="community/email/digest.txt",
                context={**items, "site": settings.JAM_SITE_URL.rstrip("/")},
            )
    return sent


def digest_items(*, user: User, since: datetime, until: datetime) -> dict[str, list[Any]]:
    jam_ids = list(Membership.objects.filter(user=user).values_list("jam_id", flat=True))
    return {
        "notifications": list(
            Notification.objects.filter(
                user=user, read_at__isnull=True, created_at__gt=since, created_at__lte=until
            ).select_related("jam", "post__idea", "post__author")[:50]
        ),
        "alerts": list(
            Alert.objects.filter(jam_id__in=jam_ids, created_at__gt=since, created_at__lte=until)
            .exclude(author=user)
            .select_related("jam")[:20]
        ),
        "sessions": list(
            HostedSession.objects.filter(
                jam_id__in=jam_ids, announced_at__gt=since, announced_at__lte=until
            ).select_related("jam")[:20]
        ),
    }


# --- Profiles ------------------------------------------------------------------------


def profile_update(
    *, actor: User, job_title: str, organization_unit: str, location: str, expertise: str
) -> User:
    """The public profile fellow members see in the directory."""
    actor.job_title = " ".join(job_title.split())
    actor.organization_unit = " ".join(organization_unit.split())
    actor.location = " ".join(location.split())
    actor.expertise = tags_normalize(expertise)
    actor.full_clean(exclude=["password", "email"])
    actor.save(update_fields=["job_title", "organization_unit", "location", "expertise"])
    return actor
