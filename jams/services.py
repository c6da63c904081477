"""Writes: every change to jams, schedules, topics and membership goes through here.

Each service takes the acting user, enforces permission and phase rules via
jams.rules, writes an audit row, and broadcasts after commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import realtime
from .errors import Forbidden, Invalid, InvalidTransition, NotFound, TooLarge
from .models import (
    Alert,
    AuditEntry,
    Invitation,
    Jam,
    JamText,
    Membership,
    Phase,
    Role,
    Topic,
    TopicText,
)
from .phases import (
    PhaseKind,
    Transition,
    TransitionRefused,
    jam_state,
    transition_plan,
    windows_overlap,
)
from .rules import Action, jam_require
from .selectors import JamContext, jam_context_for, jams_localize, phase_payload

if TYPE_CHECKING:
    from accounts.models import User


# --- Audit -------------------------------------------------------------------


def audit_append(
    *,
    jam: Jam | None,
    actor: User | None,
    action: str,
    target: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        jam=jam,
        actor=actor,
        actor_label=actor.email if actor is not None else "system",
        action=action,
        target=target[:200],
        reason=reason,
        data=data or {},
    )


def _context(jam: Jam, actor: User, action: Action, now: datetime | None = None) -> JamContext:
    ctx = jam_context_for(jam=jam, user=actor)
    jam_require(ctx, action, now=now)
    return ctx


def _lock(jam: Jam) -> Jam:
    return Jam.objects.select_for_update().get(pk=jam.pk)


# --- Jams --------------------------------------------------------------------


def jam_create(
    *,
    actor: User,
    title: str,
    slug: str,
    description: str = "",
    visibility: str,
    time_zone: str = "UTC",
    language: str = "en",
) -> Jam:
    if not actor.has_perm("jams.create_jam"):
        raise Forbidden(_("You may not create jams."))
    if language not in dict(settings.LANGUAGES):
        raise Invalid(_("That language is not offered."))
    try:
        with transaction.atomic():
            jam = Jam.objects.create(
                title=title,
                slug=slug,
                description=description,
                visibility=visibility,
                time_zone=time_zone,
                language=language,
                created_by=actor,
            )
            Membership.objects.create(jam=jam, user=actor, role=Role.ORGANIZER)
            audit_append(jam=jam, actor=actor, action="jam.created", target=slug)
    except IntegrityError as exc:
        raise Invalid(_("A jam with that short name exists already.")) from exc
    return jam


JAM_EDITABLE_FIELDS = ("title", "description", "visibility", "time_zone", "language")


def jam_update(*, actor: User, jam: Jam, reason: str = "", **fields: Any) -> Jam:
    unknown = set(fields) - set(JAM_EDITABLE_FIELDS)
    if unknown:
        raise Invalid(f"not editable: {', '.join(sorted(unknown))}")
    _context(jam, actor, Action.MANAGE_JAM)
    with transaction.atomic():
        jam = _lock(jam)
        changed = {k: v for k, v in fields.items() if getattr(jam, k) != v}
        if not changed:
            return jam
        for name, value in changed.items():
            setattr(jam, name, value)
        jam.full_clean(exclude=["slug"])
        jam.save(update_fields=list(changed))
        audit_append(
            jam=jam, actor=actor, action="jam.updated", reason=reason, data={"fields": changed}
        )
        realtime.event_record(
            jam_id=jam.pk, name="jam.updated", data={"title": jam.title, "fields": list(changed)}
        )
    return jam


# --- Texts in other languages ------------------------------------------------


def _text_language(jam: Jam, language: str) -> str:
    if language not in dict(settings.LANGUAGES):
        raise Invalid(_("That language is not offered."))
    if language == jam.language:
        raise Invalid(
            _("The jam's own title and description are in its default language; edit them there.")
        )
    return language


def _text_save(row: JamText | TopicText, title: str, description: str) -> None:
    row.title, row.description = title, description
    try:
        row.full_clean(exclude=["jam", "topic"])
    except ValidationError as exc:
        raise Invalid(" ".join(exc.messages)) from exc
    row.save()


def jam_text_set(
    *, actor: User, jam: Jam, language: str, title: str, description: str, reason: str = ""
) -> JamText | None:
    """Write the jam's title and description in ``language`` (not its default
    one); blank both to remove that translation."""
    _context(jam, actor, Action.MANAGE_JAM)
    language = _text_language(jam, language)
    title, description = title.strip(), description.strip()
    with transaction.atomic():
        _lock(jam)  # one writer per jam: no race on the language's row
        row = JamText.objects.filter(jam=jam, language=language).first()
        if not (title or description):
            if row is None:
                return None
            row.delete()
            audit_append(
                jam=jam, actor=actor, action="jam.text_removed", target=language, reason=reason
            )
            return None
        if row is not None and (row.title, row.description) == (title, description):
            return row
        row = row or JamText(jam=jam, language=language)
        _text_save(row, title, description)
        audit_append(
            jam=jam,
            actor=actor,
            action="jam.text_set",
            target=language,
            reason=reason,
            data={"language": language, "title": title},
        )
    return row


def topic_text_set(
    *, actor: User, topic: Topic, language: str, title: str, description: str, reason: str = ""
) -> TopicText | None:
    """Write a topic's title and description in ``language`` (not the jam's
    default one); blank both to remove that translation."""
    jam = topic.jam
    _context(jam, actor, Action.MANAGE_JAM)
    language = _text_language(jam, language)
    title, description = title.strip(), description.strip()
    with transaction.atomic():
        _lock(jam)
        row = TopicText.objects.filter(topic=topic, language=language).first()
        target = f"{topic.title} [{language}]"
        if not (title or description):
            if row is None:
                return None
            row.delete()
            audit_append(
                jam=jam, actor=actor, action="topic.text_removed", target=target, reason=reason
            )
            return None
        if row is not None and (row.title, row.description) == (title, description):
            return row
        row = row or TopicText(topic=topic, language=language)
        _text_save(row, title, description)
        audit_append(
            jam=jam,
            actor=actor,
            action="topic.text_set",
            target=target,
            reason=reason,
            data={"topic": topic.pk, "language": language, "title": title},
        )
    return row


# --- Topics ------------------------------------------------------------------


def _facilitators(jam: Jam, user_ids: Iterable[int]) -> list[int]:
    ids = sorted(set(user_ids))
    allowed = set(
        Membership.objects.filter(
            jam=jam, user_id__in=ids, role__in=[Role.FACILITATOR, Role.ORGANIZER]
        ).values_list("user_id", flat=True)
    )
    if set(ids) - allowed:
        raise Invalid(_("Facilitators must be facilitators or organizers of this jam."))
    return ids


def topic_create(
    *,
    actor: User,
    jam: Jam,
    title: str,
    description: str = "",
    facilitator_ids: Iterable[int] = (),
) -> Topic:
    _context(jam, actor, Action.MANAGE_JAM)
    ids = _facilitators(jam, facilitator_ids)
    try:
        with transaction.atomic():
            position = jam.topics.count()
            topic = Topic.objects.create(
                jam=jam, title=title, description=description, position=position
            )
            topic.facilitators.set(ids)
            audit_append(jam=jam, actor=actor, action="topic.created", target=title)
            realtime.event_record(
                jam_id=jam.pk, name="topic.created", data={"id": topic.pk, "title": topic.title}
            )
    except IntegrityError as exc:
        raise Invalid(_("This jam has a topic with that title already.")) from exc
    return topic


def topic_update(
    *,
    actor: User,
    topic: Topic,
    title: str,
    description: str,
    facilitator_ids: Iterable[int],
) -> Topic:
    jam = topic.jam
    _context(jam, actor, Action.MANAGE_JAM)
    ids = _facilitators(jam, facilitator_ids)
    try:
        with transaction.atomic():
            topic.title = title
            topic.description = description
            topic.save(update_fields=["title", "description"])
            topic.facilitators.set(ids)
            audit_append(jam=jam, actor=actor, action="topic.updated", target=title)
            realtime.event_record(
                jam_id=jam.pk,
                name="topic.updated",
                topic_id=topic.pk,
                data={"id": topic.pk, "title": topic.title},
            )
    except IntegrityError as exc:
        raise Invalid(_("This jam has a topic with that title already.")) from exc
    return topic


# --- Schedule ----------------------------------------------------------------


def _check_schedule(jam: Jam, candidate: Phase) -> None:
    others = [p.window() for p in jam.phases.exclude(pk=candidate.pk)]
    if candidate.starts_at >= candidate.ends_at:
        raise Invalid(_("A phase must start before it ends."))
    probe = [
        *others,
        Phase(
            pk=0, kind=candidate.kind, starts_at=candidate.starts_at, ends_at=candidate.ends_at
        ).window(),
    ]
    if windows_overlap(probe):
        raise Invalid(_("Phases may not overlap."))


def phase_add(
    *,
    actor: User,
    jam: Jam,
    kind: str,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
    now: datetime | None = None,
) -> Phase:
    now = now or timezone.now()
    _context(jam, actor, Action.MANAGE_JAM, now)
    PhaseKind(kind)
    if starts_at < now:
        raise Invalid(_("A new phase cannot start in the past."))
    with transaction.atomic():
        jam = _lock(jam)
        phase = Phase(jam=jam, kind=kind, starts_at=starts_at, ends_at=ends_at)
        _check_schedule(jam, phase)
        phase.save()
        audit_append(
            jam=jam,
            actor=actor,
            action="phase.added",
            target=str(phase),
            reason=reason,
            data={"kind": kind, "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()},
        )
        _phase_changed(jam, now)
    return phase


def phase_edit(
    *,
    actor: User,
    phase: Phase,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
    now: datetime | None = None,
) -> Phase:
    """Reschedule a phase that has not started. Running phases change only
    through the transitions (close now, extend)."""
    now = now or timezone.now()
    jam = phase.jam
    _context(jam, actor, Action.MANAGE_JAM, now)
    with transaction.atomic():
        jam = _lock(jam)
        phase = Phase.objects.get(pk=phase.pk)
        if phase.starts_at <= now:
            raise InvalidTransition(_("A phase that has started cannot be rescheduled."))
        if starts_at < now:
            raise Invalid(_("A phase cannot be moved into the past."))
        before = {"starts_at": phase.starts_at.isoformat(), "ends_at": phase.ends_at.isoformat()}
        phase.starts_at, phase.ends_at = starts_at, ends_at
        _check_schedule(jam, phase)
        phase.save(update_fields=["starts_at", "ends_at"])
        audit_append(
            jam=jam,
            actor=actor,
            action="phase.rescheduled",
            target=str(phase),
            reason=reason,
            data={
                "before": before,
                "after": {"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()},
            },
        )
        _phase_changed(jam, now)
    return phase


def phase_delete(
    *, actor: User, phase: Phase, reason: str = "", now: datetime | None = None
) -> None:
    now = now or timezone.now()
    jam = phase.jam
    _context(jam, actor, Action.MANAGE_JAM, now)
    with transaction.atomic():
        jam = _lock(jam)
        phase = Phase.objects.get(pk=phase.pk)
        if phase.starts_at <= now:
            raise InvalidTransition(_("A phase that has started cannot be removed."))
        label = str(phase)
        phase.delete()
        audit_append(jam=jam, actor=actor, action="phase.removed", target=label, reason=reason)
        _phase_changed(jam, now)


def jam_transition(
    *,
    actor: User,
    jam: Jam,
    transition: Transition | str,
    phase_id: int | None = None,
    minutes: int | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Jam:
    """Every organizer phase action: open now, close now, extend, publish, unpublish.

    Locks the jam row, checks the transition table (jams.phases), writes the
    audit row and broadcasts ``phase.changed`` after commit.
    """
    transition = Transition(transition)
    now = now or timezone.now()
    action = (
        Action.PUBLISH_RESULTS
        if transition in (Transition.PUBLISH, Transition.UNPUBLISH)
        else Action.CHANGE_PHASE
    )
    _context(jam, actor, action, now)
    with transaction.atomic():
        jam = _lock(jam)
        phases = {p.pk: p for p in jam.phases.all()}
        try:
            plan = transition_plan(
                [p.window() for p in phases.values()],
                published_at=jam.results_published_at,
                transition=transition,
                now=now,
                phase_id=phase_id,
                minutes=minutes,
            )
        except TransitionRefused as exc:
            raise InvalidTransition(str(exc)) from exc
        changes = []
        for change in plan.changes:
            phase = phases[change.phase_id]
            changes.append(
                {
                    "phase": phase.pk,
                    "kind": phase.kind,
                    "before": [phase.starts_at.isoformat(), phase.ends_at.isoformat()],
                    "after": [change.starts_at.isoformat(), change.ends_at.isoformat()],
                }
            )
            phase.starts_at, phase.ends_at = change.starts_at, change.ends_at
        Phase.objects.bulk_update(
            [phases[c.phase_id] for c in plan.changes], ["starts_at", "ends_at"]
        )
        if plan.publish is not None:
            jam.results_published_at = now if plan.publish else None
            jam.save(update_fields=["results_published_at"])
        target = phases[phase_id].get_kind_display() if phase_id in phases else jam.slug
        audit_append(
            jam=jam,
            actor=actor,
            action=f"phase.{transition.value}",
            target=str(target),
            reason=reason,
            data={"changes": changes, "minutes": minutes},
        )
        _phase_changed(jam, now)
        if transition is Transition.PUBLISH:  # members are told once it is committed
            transaction.on_commit(lambda: _report_published(jam))
    return jam


def _report_published(jam: Jam) -> None:
    from analysis.report import report_published_notify  # analysis imports jams: import late

    report_published_notify(jam)


def _phase_changed(jam: Jam, now: datetime) -> None:
    state = jam_state(
        [p.window() for p in jam.phases.all()], published_at=jam.results_published_at, now=now
    )
    realtime.event_record(jam_id=jam.pk, name="phase.changed", data=phase_payload(state))


# --- Membership --------------------------------------------------------------


def _organizer_count(jam: Jam) -> int:
    return Membership.objects.filter(jam=jam, role=Role.ORGANIZER).count()


def jam_join(*, user: User, jam: Jam) -> Membership:
    """Join a public or site-members jam as a participant."""
    ctx = jam_context_for(jam=jam, user=user)
    if ctx.role is not None:
        return Membership.objects.get(jam=jam, user=user)
    jam_require(ctx, Action.JOIN)
    return _membership_add(jam=jam, user=user, role=Role.PARTICIPANT, how="joined")


def _membership_add(*, jam: Jam, user: User, role: str, how: str) -> Membership:
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            jam=jam, user=user, defaults={"role": role}
        )
        if created:
            audit_append(
                jam=jam, actor=user, action=f"member.{how}", target=user.email, data={"role": role}
            )
    return membership


def invitation_create(
    *,
    actor: User,
    jam: Jam,
    email: str = "",
    role: str = Role.PARTICIPANT,
    expires_at: datetime | None = None,
) -> Invitation:
    _context(jam, actor, Action.MANAGE_MEMBERS)
    Role(role)
    email = email.strip().lower()
    if not email and role != Role.PARTICIPANT:
        raise Invalid(_("Shareable links invite participants only; invite others by email."))
    with transaction.atomic():
        invitation = Invitation.objects.create(
            jam=jam, email=email, role=role, created_by=actor, expires_at=expires_at
        )
        audit_append(
            jam=jam,
            actor=actor,
            action="invitation.created",
            target=email or "link",
            data={"role": role},
        )
        if email:
            transaction.on_commit(lambda: _invitation_send(invitation, actor))
    return invitation


def _invitation_send(invitation: Invitation, actor: User) -> None:
    site = getattr(settings, "JAM_SITE_URL", "http://127.0.0.1:8000")
    context = {
        "jam": invitation.jam,
        "invitation": invitation,
        "inviter": actor,
        "url": site.rstrip("/") + invitation.get_absolute_url(),
    }
    language = actor.language or settings.LANGUAGE_CODE
    jams_localize([invitation.jam], language=language)
    with translation.override(language):
        subject = _("You are invited to %(jam)s") % {"jam": invitation.jam.local.title}
        body = render_to_string("jams/email/invitation.txt", context)
    send_mail(subject, body, None, [invitation.email])


def invitation_revoke(*, actor: User, invitation: Invitation) -> None:
    _context(invitation.jam, actor, Action.MANAGE_MEMBERS)
    with transaction.atomic():
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_append(
            jam=invitation.jam,
            actor=actor,
            action="invitation.revoked",
            target=invitation.email or "link",
        )


def invitation_accept(*, user: User, token: str, now: datetime | None = None) -> Membership:
    """Accept an invitation. Email invitations are personal: the signed-in
    account must own the invited address (verified)."""
    from allauth.account.models import EmailAddress

    now = now or timezone.now()
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update().select_related("jam").filter(token=token).first()
        )
        if invitation is None:
            raise NotFound
        if not invitation.usable(now):
            raise Invalid(_("This invitation has expired or has been used."))
        jam = invitation.jam
        existing = Membership.objects.filter(jam=jam, user=user).first()
        if invitation.is_link:
            if existing is not None:
                return existing
            membership = _membership_add(jam=jam, user=user, role=invitation.role, how="joined")
        else:
            owns_address = EmailAddress.objects.filter(
                user=user, email__iexact=invitation.email, verified=True
            ).exists()
            if not owns_address:
                raise Forbidden(
                    _("This invitation was sent to %(email)s. Sign in with that address.")
                    % {"email": invitation.email}
                )
            if existing is not None:
                membership = existing
                if existing.role != invitation.role:
                    existing.role = invitation.role
                    existing.save(update_fields=["role"])
                    realtime.user_signal(user_id=user.pk, jam_ids=[jam.pk])
            else:
                membership = _membership_add(
                    jam=jam, user=user, role=invitation.role, how="invited"
                )
            invitation.accepted_by = user
            invitation.accepted_at = now
        invitation.use_count += 1
        invitation.save(update_fields=["accepted_by", "accepted_at", "use_count"])
    return membership


def membership_set_role(
    *, actor: User, membership: Membership, role: str, reason: str = ""
) -> Membership:
    jam = membership.jam
    _context(jam, actor, Action.MANAGE_MEMBERS)
    Role(role)
    with transaction.atomic():
        _lock(jam)
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if membership.role == role:
            return membership
        if membership.role == Role.ORGANIZER and _organizer_count(jam) <= 1:
            raise Invalid(_("A jam needs at least one organizer."))
        before = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        audit_append(
            jam=jam,
            actor=actor,
            action="member.role_changed",
            target=membership.user.email,
            reason=reason,
            data={"before": before, "after": role},
        )
        realtime.user_signal(user_id=membership.user_id, jam_ids=[jam.pk])
    return membership


def membership_remove(*, actor: User, membership: Membership, reason: str = "") -> None:
    jam = membership.jam
    if membership.user_id != actor.pk:
        _context(jam, actor, Action.MANAGE_MEMBERS)
    with transaction.atomic():
        _lock(jam)
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if membership.role == Role.ORGANIZER and _organizer_count(jam) <= 1:
            raise Invalid(_("A jam needs at least one organizer."))
        email = membership.user.email
        user_id = membership.user_id
        membership.delete()
        Topic.facilitators.through.objects.filter(topic__jam=jam, user_id=user_id).delete()
        audit_append(
            jam=jam,
            actor=actor,
            action="member.left" if user_id == actor.pk else "member.removed",
            target=email,
            reason=reason,
        )
        realtime.user_signal(user_id=user_id, jam_ids=[jam.pk])


# --- Alerts ------------------------------------------------------------------


def alert_emails_queue(alert: Alert) -> None:
    """Email the alert after commit to members who want email at once."""
    from community.services import alert_emails_queue as queue

    queue(alert)


def alert_send(
    *, actor: User, jam: Jam, text: str, client_id: str | None = None
) -> tuple[Alert, int]:
    """Broadcast a short alert to everyone in the jam. Idempotent per client_id.
    Returns the alert and the seq of its event."""
    _context(jam, actor, Action.ALERT)
    text = text.strip()
    if not text:
        raise Invalid(_("An alert may not be empty."))
    if len(text) > Alert.MAX_LENGTH:
        raise TooLarge(
            _("An alert may be at most %(n)d characters long.") % {"n": Alert.MAX_LENGTH}
        )
    if client_id is not None:
        existing = Alert.objects.filter(author=actor, client_id=client_id).first()
        if existing is not None:
            return existing, _event_seq(jam, "alert", existing.pk)
    with transaction.atomic():
        alert = Alert.objects.create(jam=jam, author=actor, text=text, client_id=client_id)
        audit_append(jam=jam, actor=actor, action="alert.sent", target=text[:200])
        alert_emails_queue(alert)
        event = realtime.event_record(
            jam_id=jam.pk,
            name="alert",
            data={
                "id": alert.pk,
                "text": alert.text,
                "author": actor.display_name,
                "created_at": alert.created_at,
            },
        )
    return alert, event.seq


def _event_seq(jam: Jam, name: str, object_id: int) -> int:
    from .models import Event

    return (
        Event.objects.filter(jam=jam, name=name, data__id=object_id)
        .values_list("seq", flat=True)
        .first()
        or 0
    )
