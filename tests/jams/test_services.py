"""Organizer actions, schedule, membership and invitations, against the real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.utils import timezone

from jams import services
from jams.errors import Forbidden, Invalid, InvalidTransition, NotFound, PhaseClosed
from jams.models import AuditEntry, Event, Jam, Membership, Phase, Role, Visibility
from jams.phases import PhaseKind, Stage, Transition
from jams.selectors import jam_context_for
from tests.factories import HOUR, JamFactory, UserFactory, jam_in_stage, member

pytestmark = pytest.mark.django_db


def stage_of(jam: Jam, user: object) -> Stage:
    jam.refresh_from_db()
    return jam_context_for(jam=jam, user=user).state().stage  # type: ignore[arg-type]


# --- Creating jams ------------------------------------------------------------


def test_jam_create_needs_the_permission() -> None:
    user = UserFactory()
    with pytest.raises(Forbidden):
        services.jam_create(actor=user, title="T", slug="t", visibility=Visibility.PUBLIC)
    assert not Jam.objects.exists()


def test_jam_create_makes_the_creator_organizer_and_logs_it() -> None:
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="create_jam"))
    jam = services.jam_create(actor=user, title="T", slug="t", visibility=Visibility.PUBLIC)
    assert Membership.objects.get(jam=jam, user=user).role == Role.ORGANIZER
    entry = AuditEntry.objects.get(jam=jam)
    assert (entry.actor, entry.action) == (user, "jam.created")
    with pytest.raises(Invalid):
        services.jam_create(actor=user, title="Again", slug="t", visibility=Visibility.PUBLIC)


# --- Transitions ----------------------------------------------------------------


def test_close_now_ends_discussion_logs_and_broadcasts(jam, organizer, events) -> None:
    discussion = jam.phases.get(kind=PhaseKind.DISCUSSION)
    with events.committed():
        services.jam_transition(
            actor=organizer,
            jam=jam,
            transition=Transition.CLOSE_NOW,
            phase_id=discussion.pk,
            reason="enough",
        )
    discussion.refresh_from_db()
    assert discussion.ends_at <= timezone.now()
    assert stage_of(jam, organizer) is Stage.CURATION
    entry = AuditEntry.objects.get(action="phase.close_now")
    assert (entry.actor, entry.reason, entry.jam) == (organizer, "enough", jam)
    assert entry.data["changes"][0]["phase"] == discussion.pk
    [event] = events.drain()
    assert event["event"] == "phase.changed"
    assert event["data"]["stage"] == "curation"
    assert event["data"]["next_kind"] == "curation"  # the gap until curation starts
    assert event["seq"] == Event.objects.get(jam=jam, name="phase.changed").seq


def test_open_voting_now_from_discussion(jam, organizer, events) -> None:
    voting = jam.phases.get(kind=PhaseKind.VOTING)
    curation = jam.phases.get(kind=PhaseKind.CURATION)
    # Voting is not next (curation is): refused, nothing logged.
    with pytest.raises(InvalidTransition):
        services.jam_transition(
            actor=organizer, jam=jam, transition=Transition.OPEN_NOW, phase_id=voting.pk
        )
    assert not AuditEntry.objects.filter(action__startswith="phase.").exists()
    with events.committed():
        services.jam_transition(
            actor=organizer, jam=jam, transition=Transition.OPEN_NOW, phase_id=curation.pk
        )
    assert stage_of(jam, organizer) is Stage.CURATION
    assert events.names() == ["phase.changed"]


def test_extend_shifts_later_phases_and_keeps_their_length(jam, organizer) -> None:
    phases = {p.kind: p for p in jam.phases.all()}
    before = {k: (p.starts_at, p.ends_at) for k, p in phases.items()}
    services.jam_transition(
        actor=organizer,
        jam=jam,
        transition=Transition.EXTEND,
        phase_id=phases["discussion"].pk,
        minutes=5 * 60,
    )
    after = {p.kind: (p.starts_at, p.ends_at) for p in jam.phases.all()}
    assert after["discussion"][1] - before["discussion"][1] == 5 * HOUR
    # Curation started 0 h after discussion ended: everything later moves by 5 h.
    for kind in ("curation", "voting", "results"):
        assert after[kind][0] - before[kind][0] == 5 * HOUR
        assert after[kind][1] - after[kind][0] == before[kind][1] - before[kind][0]


@pytest.mark.parametrize("role", [Role.PARTICIPANT, Role.FACILITATOR, Role.EXECUTIVE])
def test_only_organizers_change_phases(jam, role) -> None:
    user = member(jam, role)
    discussion = jam.phases.get(kind=PhaseKind.DISCUSSION)
    with pytest.raises(Forbidden):
        services.jam_transition(
            actor=user, jam=jam, transition=Transition.CLOSE_NOW, phase_id=discussion.pk
        )
    assert not AuditEntry.objects.exists()


def test_publish_only_after_voting_and_then_frozen() -> None:
    jam = jam_in_stage(Stage.VOTING)
    organizer = member(jam, Role.ORGANIZER)
    with pytest.raises(PhaseClosed):
        services.jam_transition(actor=organizer, jam=jam, transition=Transition.PUBLISH)
    voting = jam.phases.get(kind=PhaseKind.VOTING)
    services.jam_transition(
        actor=organizer, jam=jam, transition=Transition.CLOSE_NOW, phase_id=voting.pk
    )
    services.jam_transition(actor=organizer, jam=jam, transition=Transition.PUBLISH)
    assert stage_of(jam, organizer) is Stage.PUBLISHED
    results = jam.phases.get(kind=PhaseKind.RESULTS)
    with pytest.raises(PhaseClosed):
        services.jam_transition(
            actor=organizer, jam=jam, transition=Transition.EXTEND, phase_id=results.pk, minutes=5
        )
    services.jam_transition(actor=organizer, jam=jam, transition=Transition.UNPUBLISH)
    assert stage_of(jam, organizer) is Stage.CLOSED
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["phase.close_now", "phase.publish", "phase.unpublish"]


def test_cross_jam_phase_change_is_not_found(jam, organizer) -> None:
    other = jam_in_stage(Stage.DISCUSSION)
    phase = other.phases.first()
    with pytest.raises(NotFound):
        services.jam_transition(
            actor=organizer, jam=other, transition=Transition.CLOSE_NOW, phase_id=phase.pk
        )


# --- Schedule -------------------------------------------------------------------


def test_phase_add_refuses_overlap_and_the_past(jam, organizer) -> None:
    now = timezone.now()
    last = jam.phases.order_by("-ends_at").first()
    with pytest.raises(Invalid):
        services.phase_add(
            actor=organizer,
            jam=jam,
            kind="discussion",
            starts_at=last.ends_at - HOUR,
            ends_at=last.ends_at + HOUR,
        )
    with pytest.raises(Invalid):
        services.phase_add(
            actor=organizer, jam=jam, kind="discussion", starts_at=now - HOUR, ends_at=now + HOUR
        )
    phase = services.phase_add(
        actor=organizer,
        jam=jam,
        kind="discussion",
        starts_at=last.ends_at,
        ends_at=last.ends_at + HOUR,
    )
    assert AuditEntry.objects.get(action="phase.added").target == str(phase)


def test_started_phases_cannot_be_rescheduled_or_removed(jam, organizer) -> None:
    running = jam.phases.get(kind=PhaseKind.DISCUSSION)
    later = timezone.now() + 1000 * HOUR
    with pytest.raises(InvalidTransition):
        services.phase_edit(actor=organizer, phase=running, starts_at=later, ends_at=later + HOUR)
    with pytest.raises(InvalidTransition):
        services.phase_delete(actor=organizer, phase=running)
    upcoming = jam.phases.get(kind=PhaseKind.RESULTS)
    services.phase_delete(actor=organizer, phase=upcoming, reason="no results phase")
    assert not Phase.objects.filter(pk=upcoming.pk).exists()


def test_database_refuses_a_phase_that_ends_before_it_starts(jam) -> None:
    from django.db import IntegrityError, transaction

    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        Phase.objects.create(jam=jam, kind="voting", starts_at=now, ends_at=now)


# --- Membership -------------------------------------------------------------------


def test_email_invitation_is_personal_and_single_use(jam, organizer) -> None:
    invitation = services.invitation_create(
        actor=organizer, jam=jam, email="Guest@Example.com", role=Role.FACILITATOR
    )
    # Sent on commit; pytest-django runs the test in a transaction, so send by hand.
    assert invitation.email == "guest@example.com"
    stranger = UserFactory(email="stranger@example.com")
    with pytest.raises(Forbidden):
        services.invitation_accept(user=stranger, token=invitation.token)
    guest = UserFactory(email="guest@example.com")
    membership = services.invitation_accept(user=guest, token=invitation.token)
    assert membership.role == Role.FACILITATOR
    with pytest.raises(Invalid):
        services.invitation_accept(user=guest, token=invitation.token)


def test_email_invitation_needs_a_verified_address(jam, organizer) -> None:
    invitation = services.invitation_create(actor=organizer, jam=jam, email="new@example.com")
    unverified = UserFactory(email="new@example.com", verified=False)
    with pytest.raises(Forbidden):
        services.invitation_accept(user=unverified, token=invitation.token)


def test_invitation_email_is_sent_after_commit(
    jam, organizer, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitation_create(actor=organizer, jam=jam, email="guest@example.com")
    [message] = mail.outbox
    assert message.to == ["guest@example.com"]
    assert jam.title in message.subject
    assert invitation.get_absolute_url() in message.body


def test_link_invitation_many_uses_expiry_and_revocation(jam, organizer) -> None:
    link = services.invitation_create(actor=organizer, jam=jam)
    for _ in range(3):
        services.invitation_accept(user=UserFactory(), token=link.token)
    link.refresh_from_db()
    assert link.use_count == 3
    assert jam.memberships.filter(role=Role.PARTICIPANT).count() == 3
    services.invitation_revoke(actor=organizer, invitation=link)
    with pytest.raises(Invalid):
        services.invitation_accept(user=UserFactory(), token=link.token)
    expired = services.invitation_create(
        actor=organizer, jam=jam, expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(Invalid):
        services.invitation_accept(user=UserFactory(), token=expired.token)
    with pytest.raises(Invalid):
        services.invitation_create(actor=organizer, jam=jam, role=Role.ORGANIZER)


def test_participants_cannot_invite(jam, participant) -> None:
    with pytest.raises(Forbidden):
        services.invitation_create(actor=participant, jam=jam, email="x@example.com")


@pytest.mark.parametrize(
    ("visibility", "joins"),
    [(Visibility.PUBLIC, True), (Visibility.MEMBERS, True), (Visibility.INVITATION, False)],
)
def test_joining_freely(visibility, joins) -> None:
    jam = JamFactory(visibility=visibility)
    user = UserFactory()
    if joins:
        assert services.jam_join(user=user, jam=jam).role == Role.PARTICIPANT
        assert AuditEntry.objects.get(jam=jam).action == "member.joined"
    else:
        with pytest.raises(NotFound):
            services.jam_join(user=user, jam=jam)
        assert not jam.memberships.exists()


def test_the_last_organizer_stays(jam, organizer) -> None:
    membership = Membership.objects.get(jam=jam, user=organizer)
    with pytest.raises(Invalid):
        services.membership_set_role(actor=organizer, membership=membership, role=Role.PARTICIPANT)
    with pytest.raises(Invalid):
        services.membership_remove(actor=organizer, membership=membership)
    second = member(jam, Role.ORGANIZER)
    services.membership_set_role(actor=second, membership=membership, role=Role.EXECUTIVE)
    entry = AuditEntry.objects.get(action="member.role_changed")
    assert entry.data == {"before": "organizer", "after": "executive"}


def test_removed_facilitator_no_longer_hosts_topics(jam, organizer, topic) -> None:
    host = member(jam, Role.FACILITATOR)
    services.topic_update(
        actor=organizer, topic=topic, title=topic.title, description="", facilitator_ids=[host.pk]
    )
    services.membership_remove(
        actor=organizer, membership=Membership.objects.get(jam=jam, user=host), reason="left"
    )
    assert not topic.facilitators.exists()


def test_topic_facilitators_must_be_staff(jam, organizer, participant) -> None:
    with pytest.raises(Invalid):
        services.topic_create(actor=organizer, jam=jam, title="X", facilitator_ids=[participant.pk])


def test_audit_entries_are_append_only(jam, organizer) -> None:
    entry = services.audit_append(jam=jam, actor=organizer, action="test")
    entry.reason = "changed"
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()


@pytest.mark.postgres
def test_the_database_refuses_to_rewrite_or_delete_audit_entries(jam, organizer) -> None:
    """Beyond the model: a bulk update, a raw statement or a queryset delete is
    refused by PostgreSQL's trigger; only what deletions need is let through."""
    from django.db import DatabaseError, connection, transaction

    from accounts.services import account_delete

    entry = services.audit_append(jam=jam, actor=organizer, action="test", reason="why")
    refused = [
        lambda: AuditEntry.objects.filter(pk=entry.pk).update(reason="rewritten"),
        lambda: AuditEntry.objects.filter(pk=entry.pk).update(action="other"),
        lambda: AuditEntry.objects.filter(pk=entry.pk).update(actor=None, reason="x"),
        lambda: AuditEntry.objects.filter(pk=entry.pk).update(actor_label="someone else"),
        lambda: AuditEntry.objects.filter(pk=entry.pk)._raw_delete(connection.alias),
    ]
    for attempt in refused:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            attempt()
    with (
        connection.cursor() as cursor,
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
    ):
        cursor.execute("DELETE FROM jams_auditentry WHERE id = %s", [entry.pk])
    entry.refresh_from_db()
    assert (entry.action, entry.reason, entry.actor_id) == ("test", "why", organizer.pk)

    # What deleting an account or a jam does to its rows still works.
    organizer_id = organizer.pk
    account_delete(user=organizer)
    entry.refresh_from_db()
    assert entry.actor_id is None and entry.actor_label == f"deleted member {organizer_id}"
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(actor_label="renamed after deletion")
    jam.delete()
    entry.refresh_from_db()
    assert entry.jam_id is None and (entry.action, entry.reason) == ("test", "why")


def test_event_seq_is_strictly_increasing(jam, organizer, topic) -> None:
    for n in range(5):
        services.topic_create(actor=organizer, jam=jam, title=f"T{n}")
    seqs = list(Event.objects.filter(jam=jam).order_by("id").values_list("seq", flat=True))
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs) == 5
    jam.refresh_from_db()
    assert jam.last_seq == seqs[-1]
