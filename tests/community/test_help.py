"""The help radar: detection at write time, the unanswered check, answered
requests dropping off, claims, resolutions, shifts and hand-off notes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from community import services
from community.models import FacilitatorShift, HelpReason, HelpRequest, HelpStatus, JamCommunity
from ideas import services as idea_services
from jams.errors import Forbidden, Invalid
from jams.models import Role
from jams.phases import Stage
from tests.factories import TopicFactory, jam_in_stage, member

from .helpers import client_for

pytestmark = pytest.mark.django_db


def test_a_question_joins_the_radar_when_written_and_leaves_once_answered(
    jam, topic, participant, facilitator, events
) -> None:
    with events.committed():
        written = idea_services.idea_create(
            actor=participant, topic=topic, title="Voting", body="How do I vote twice?"
        )
    request = HelpRequest.objects.get(post_id=written.id)
    assert (request.reason, request.status) == (HelpReason.ASKS_FOR_HELP, HelpStatus.OPEN)
    sent = [e for e in events.drain() if e["event"] == "help.changed"]
    assert [e["data"] for e in sent] == [{"ids": [request.pk], "status": "open"}]
    assert sent[0]["_topic"] is None  # jam-wide, ids only

    idea = written.idea_id
    # The asker adding to their own question does not answer it.
    idea_services.reply_create(actor=participant, idea=request.post.idea, body="More detail.")
    request.refresh_from_db()
    assert request.status == HelpStatus.OPEN

    with events.committed():
        idea_services.reply_create(actor=facilitator, idea=request.post.idea, body="Once only.")
    request.refresh_from_db()
    assert request.status == HelpStatus.ANSWERED
    assert request.closed_by == facilitator
    assert {"ids": [request.pk], "status": "answered"} in [
        e["data"] for e in events.drain() if e["event"] == "help.changed"
    ]
    assert idea


def test_plain_posts_stay_off_the_radar(topic, participant) -> None:
    idea_services.idea_create(actor=participant, topic=topic, title="Trees", body="Plant trees.")
    assert not HelpRequest.objects.exists()


def test_unanswered_ideas_join_after_the_jams_minutes_and_drop_once_answered(
    jam, topic, participant, facilitator, events
) -> None:
    JamCommunity.objects.create(jam=jam, unanswered_minutes=20)
    now = timezone.now()
    written = idea_services.idea_create(
        actor=participant, topic=topic, title="Trees", body="Plant trees.", now=now
    )
    assert services.help_unanswered_scan(jam=jam, now=now + timedelta(minutes=19)) == 0
    with events.committed():
        assert services.help_unanswered_scan(jam=jam, now=now + timedelta(minutes=21)) == 1
    request = HelpRequest.objects.get(post_id=written.id)
    assert request.reason == HelpReason.UNANSWERED
    assert events.names() == ["help.changed"]
    # Found once: a second scan adds nothing.
    assert services.help_unanswered_scan(jam=jam, now=now + timedelta(minutes=30)) == 0

    idea_services.reply_create(actor=facilitator, idea=request.post.idea, body="Good point.")
    request.refresh_from_db()
    assert request.status == HelpStatus.ANSWERED
    radar = client_for(facilitator).get(reverse("community:help_radar", args=[jam.slug]))
    assert "Trees" not in radar.content.decode().split("Recently answered")[0]


def test_the_radar_page_runs_the_cheap_check_and_lists_the_question(
    jam, topic, participant, facilitator
) -> None:
    written = idea_services.idea_create(
        actor=participant, topic=topic, title="Nobody replied", body="Plant trees.",
        now=timezone.now() - timedelta(minutes=45),
    )  # fmt: skip
    response = client_for(facilitator).get(reverse("community:help_radar", args=[jam.slug]))
    assert response.status_code == 200
    assert "Nobody replied" in response.content.decode()
    assert HelpRequest.objects.filter(post_id=written.id, reason=HelpReason.UNANSWERED).exists()
    fragment = client_for(facilitator).get(reverse("community:help_queue", args=[jam.slug]))
    assert "Nobody replied" in fragment.content.decode()


def test_the_help_scan_command_covers_discussions_only(topic, participant) -> None:
    old = timezone.now() - timedelta(minutes=45)
    idea_services.idea_create(actor=participant, topic=topic, title="A", body="b", now=old)
    closed = jam_in_stage(Stage.VOTING)
    from tests.factories import idea_in

    idea_in(closed, title="In voting")
    call_command("help_scan")
    assert HelpRequest.objects.count() == 1


def test_claim_and_resolve(jam, topic, participant, facilitator, organizer) -> None:
    written = idea_services.idea_create(
        actor=participant, topic=topic, title="Q", body="Help please"
    )
    request = HelpRequest.objects.get(post_id=written.id)
    with pytest.raises(Forbidden):
        services.help_claim(actor=participant, request=request)
    services.help_claim(actor=facilitator, request=request)
    with pytest.raises(Invalid):
        services.help_claim(actor=organizer, request=request)
    client = client_for(organizer)
    url = reverse("community:help_resolve", args=[jam.slug, request.pk])
    assert client.post(url).status_code == 302
    request.refresh_from_db()
    assert (request.status, request.closed_by) == (HelpStatus.RESOLVED, organizer)


def test_the_next_shift_sees_the_handoff_note_first(jam, facilitator) -> None:
    other = member(jam, Role.FACILITATOR)
    client = client_for(facilitator)
    url = reverse("community:shift", args=[jam.slug])
    client.post(url)
    with pytest.raises(Invalid):
        services.shift_start(actor=facilitator, jam=jam)
    client.post(url, {"end": "1", "handoff_note": "Watch the Health topic."})
    shift = FacilitatorShift.objects.get()
    assert shift.ended_at is not None
    html = client_for(other).get(reverse("community:help_radar", args=[jam.slug])).content.decode()
    assert html.index("Watch the Health topic.") < html.index("Waiting for help")


def test_session_threads_stay_off_the_radar(jam, topic, organizer, participant) -> None:
    now = timezone.now()
    session = services.session_schedule(
        actor=organizer, jam=jam, topic=topic, title="Ask the mayor", description="",
        host=organizer, guest="", starts_at=now, ends_at=now + timedelta(hours=1),
    )  # fmt: skip
    services.session_question_ask(actor=participant, session=session, body="Why?")
    assert not HelpRequest.objects.exists()


def test_radar_is_for_facilitators_and_organizers(jam, participant, executive) -> None:
    url = reverse("community:help_radar", args=[jam.slug])
    assert client_for(participant).get(url).status_code == 403
    assert client_for(executive).get(url).status_code == 403
    other = TopicFactory(jam=jam_in_stage(Stage.DISCUSSION))
    stranger = member(other.jam, Role.FACILITATOR)
    assert client_for(stranger).get(url).status_code == 404
