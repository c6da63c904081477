"""Hosted sessions: scheduling, questions as posts, upvotes (agree
reactions) that order the list live, answered marks, start alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from community import selectors, services
from community.models import HostedSession
from ideas.models import Post
from jams.errors import Forbidden, Invalid, NotFound, PhaseClosed
from jams.models import Role
from tests.factories import TopicFactory, member

from .helpers import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(jam, topic, organizer, facilitator) -> HostedSession:
    now = timezone.now()
    return services.session_schedule(
        actor=organizer, jam=jam, topic=topic, title="Ask the mayor", description="Live Q&A",
        host=facilitator, guest="The mayor", starts_at=now + timedelta(minutes=5),
        ends_at=now + timedelta(hours=1),
    )  # fmt: skip


def test_only_organizers_schedule(jam, topic, facilitator) -> None:
    now = timezone.now()
    with pytest.raises(Forbidden):
        services.session_schedule(
            actor=facilitator, jam=jam, topic=topic, title="X", description="", host=facilitator,
            guest="", starts_at=now, ends_at=now + timedelta(hours=1),
        )  # fmt: skip


def test_the_host_must_be_a_member(jam, topic, organizer) -> None:
    outsider = member(TopicFactory().jam, Role.PARTICIPANT)
    now = timezone.now()
    with pytest.raises(Invalid):
        services.session_schedule(
            actor=organizer, jam=jam, topic=topic, title="X", description="", host=outsider,
            guest="", starts_at=now, ends_at=now + timedelta(hours=1),
        )  # fmt: skip


def test_questions_upvote_and_order_live(session, participant, executive, events) -> None:
    with events.committed():
        first = services.session_question_ask(actor=participant, session=session, body="Budget?")
        second = services.session_question_ask(actor=executive, session=session, body="Parks?")
    created = [e for e in events.drain() if e["event"] == "post.created"]
    assert [e["data"]["id"] for e in created] == [first.id, second.id]
    assert all(e["_idea"] == session.idea_id for e in created)  # in the session's thread

    order = [q.post.pk for q in selectors.session_questions(session=session, user_id=None)]
    assert order == [first.id, second.id]

    with events.committed():
        services.session_question_upvote(
            actor=participant, session=session, post=Post.objects.get(pk=second.id)
        )
    (event,) = events.drain()
    assert event["event"] == "reaction.changed"
    assert event["data"] == {
        "post": second.id,
        "idea": session.idea_id,
        "counts": {"agree": 1, "disagree": 0, "pass": 0},
    }
    questions = selectors.session_questions(session=session, user_id=participant.pk)
    assert [q.post.pk for q in questions] == [second.id, first.id]
    assert [q.my_vote for q in questions] == [True, False]

    # One vote per person: voting again changes nothing.
    services.session_question_upvote(
        actor=participant, session=session, post=Post.objects.get(pk=second.id)
    )
    assert Post.objects.get(pk=second.id).agree_count == 1


def test_the_host_marks_answered_and_answered_go_last(
    session, participant, executive, facilitator, events
) -> None:
    a = services.session_question_ask(actor=participant, session=session, body="A?")
    b = services.session_question_ask(actor=executive, session=session, body="B?")
    services.session_question_upvote(
        actor=executive, session=session, post=Post.objects.get(pk=a.id)
    )
    with pytest.raises(Forbidden):
        services.session_question_answer(
            actor=participant, session=session, post=Post.objects.get(pk=a.id)
        )
    with events.committed():
        services.session_question_answer(
            actor=facilitator, session=session, post=Post.objects.get(pk=a.id)
        )
    (event,) = events.drain()
    assert (event["event"], event["data"]) == (
        "session.answered",
        {"session": session.pk, "post": a.id},
    )
    order = [
        (q.post.pk, q.answered) for q in selectors.session_questions(session=session, user_id=None)
    ]
    assert order == [(b.id, False), (a.id, True)]


def test_the_opening_post_is_not_a_question(session, participant) -> None:
    opening = Post.objects.get(idea=session.idea, parent__isnull=True)
    with pytest.raises(NotFound):
        services.session_question_upvote(actor=participant, session=session, post=opening)


def test_questions_only_during_the_discussion_and_before_the_end(session, participant) -> None:
    with pytest.raises(Invalid):
        services.session_question_ask(
            actor=participant, session=session, body="Late?", now=session.ends_at
        )
    with pytest.raises(PhaseClosed):
        services.session_question_ask(
            actor=participant, session=session, body="Early?",
            now=timezone.now() - timedelta(hours=5),
        )  # fmt: skip


def test_the_start_is_announced_once(session, jam, participant, events, mailoutbox) -> None:
    services.notification_preference_set(user=participant, email_mode="immediate")
    assert services.sessions_announce(now=session.starts_at - timedelta(seconds=1)) == []
    with events.committed():
        assert services.sessions_announce(now=session.starts_at) == [session.pk]
    (event,) = events.drain()
    assert event["event"] == "session.started"
    assert event["_topic"] is None  # jam-wide
    assert event["data"]["title"] == "Ask the mayor"
    assert event["data"]["url"] == reverse("community:session", args=[jam.slug, session.pk])
    with events.committed():
        call_command("session_alerts")
    assert events.drain() == []
    assert [m.to for m in mailoutbox] == [[participant.email]]
    assert "Ask the mayor" in mailoutbox[0].subject


def test_session_pages(session, jam, participant, facilitator) -> None:
    client = client_for(participant)
    page = client.get(reverse("community:session", args=[jam.slug, session.pk]))
    assert page.status_code == 200
    client.post(reverse("community:session", args=[jam.slug, session.pk]), {"body": "Why not?"})
    question = Post.objects.get(idea=session.idea, depth=1)
    client_for(member(jam)).post(
        reverse("community:session_upvote", args=[jam.slug, session.pk, question.pk])
    )
    assert Post.objects.get(pk=question.pk).agree_count == 1
    fragment = client.get(reverse("community:session_questions", args=[jam.slug, session.pk]))
    assert "Why not?" in fragment.content.decode()
    assert "Mark answered" not in fragment.content.decode()
    host = client_for(facilitator)
    assert (
        "Mark answered"
        in host.get(
            reverse("community:session_questions", args=[jam.slug, session.pk])
        ).content.decode()
    )
    host.post(reverse("community:session_answer", args=[jam.slug, session.pk, question.pk]))
    assert session.answers.count() == 1
    listing = client.get(reverse("community:sessions", args=[jam.slug]))
    assert "Ask the mayor" in listing.content.decode()
    assert "Schedule a session" not in listing.content.decode()


def test_a_session_of_another_jam_is_404(session, participant) -> None:
    other = member(TopicFactory().jam, Role.PARTICIPANT)
    url = reverse("community:session", args=[session.jam.slug, session.pk])
    assert client_for(other).get(url).status_code == 404
    # Through the member's own jam, the foreign session id is not found either.
    own = TopicFactory()
    stranger = member(own.jam, Role.PARTICIPANT)
    assert (
        client_for(stranger)
        .get(reverse("community:session", args=[own.jam.slug, session.pk]))
        .status_code
        == 404
    )
