"""Pages: who sees what, forms that post, cross-jam isolation, query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from jams.models import AuditEntry, Invitation, Jam, Membership, Role, Visibility
from jams.phases import PhaseKind, Stage
from tests.factories import JamFactory, TopicFactory, UserFactory, jam_in_stage, member

pytestmark = pytest.mark.django_db


def client_for(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_jam_home_shows_topics_schedule_countdown_and_role(jam, participant, topic) -> None:
    response = client_for(participant).get(jam.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert topic.title in html
    assert "data-countdown" in html
    assert "Participant" in html
    assert "data-live" in html


def test_member_of_one_jam_gets_404_in_another(jam, participant) -> None:
    other = jam_in_stage(Stage.DISCUSSION)
    topic = TopicFactory(jam=other)
    client = client_for(participant)
    for url in (
        other.get_absolute_url(),
        topic.get_absolute_url(),
        reverse("jams:console", args=[other.slug]),
        reverse("jams:members", args=[other.slug]),
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("jams:join", args=[other.slug])).status_code == 404
    assert not Membership.objects.filter(jam=other).exists()


def test_unknown_and_hidden_jams_look_alike(participant) -> None:
    hidden = JamFactory(visibility=Visibility.INVITATION)
    client = client_for(participant)
    assert client.get("/jams/no-such-jam/").status_code == 404
    assert client.get(hidden.get_absolute_url()).status_code == 404
    anonymous = Client()
    for url in ("/jams/no-such-jam/", hidden.get_absolute_url()):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_public_landing_page_and_joining() -> None:
    jam = jam_in_stage(Stage.DISCUSSION, visibility=Visibility.PUBLIC)
    assert "Sign in to join" in Client().get(jam.get_absolute_url()).content.decode()
    user = UserFactory()
    client = client_for(user)
    assert "Join this jam" in client.get(jam.get_absolute_url()).content.decode()
    response = client.post(reverse("jams:join", args=[jam.slug]))
    assert response.status_code == 302
    assert Membership.objects.get(jam=jam, user=user).role == Role.PARTICIPANT


@pytest.mark.parametrize("role", [Role.PARTICIPANT, Role.FACILITATOR, Role.EXECUTIVE])
def test_console_is_for_organizers(jam, role) -> None:
    client = client_for(member(jam, role))
    assert client.get(reverse("jams:console", args=[jam.slug])).status_code == 403
    assert client.get(reverse("jams:members", args=[jam.slug])).status_code == 403


def test_organizer_closes_the_discussion_from_the_console(jam, organizer) -> None:
    client = client_for(organizer)
    page = client.get(reverse("jams:console", args=[jam.slug]))
    assert page.status_code == 200
    assert "Close now" in page.content.decode()
    discussion = jam.phases.get(kind=PhaseKind.DISCUSSION)
    response = client.post(
        reverse("jams:transition", args=[jam.slug]),
        {"transition": "close_now", "phase": discussion.pk, "reason": "wrap up"},
    )
    assert response.status_code == 302
    assert AuditEntry.objects.get(action="phase.close_now").reason == "wrap up"


def test_refused_transition_is_explained_and_changes_nothing(jam, organizer) -> None:
    voting = jam.phases.get(kind=PhaseKind.VOTING)
    console = reverse("jams:console", args=[jam.slug])
    response = client_for(organizer).post(
        reverse("jams:transition", args=[jam.slug]),
        {"transition": "close_now", "phase": voting.pk},
        HTTP_REFERER=f"http://testserver{console}",
        follow=True,
    )
    assert "Only the current phase can be closed." in response.content.decode()
    assert not AuditEntry.objects.filter(action__startswith="phase.").exists()


def test_organizer_adds_topic_and_phase(jam, organizer) -> None:
    client = client_for(organizer)
    client.post(
        reverse("jams:topic_add", args=[jam.slug]),
        {"topic-title": "Energy", "topic-description": "Grids"},
    )
    assert jam.topics.filter(title="Energy").exists()
    last = jam.phases.order_by("-ends_at").first()
    starts = last.ends_at + timedelta(minutes=1)  # the form has minute precision
    client.post(
        reverse("jams:phase_add", args=[jam.slug]),
        {
            "phase-kind": "discussion",
            "phase-starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
            "phase-ends_at": (starts + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert jam.phases.count() == 5


def test_members_page_invites_by_email(jam, organizer, mailoutbox) -> None:
    client = client_for(organizer)
    response = client.post(
        reverse("jams:members", args=[jam.slug]), {"email": "new@example.com", "role": "executive"}
    )
    assert response.status_code == 302
    assert Invitation.objects.get(jam=jam).role == Role.EXECUTIVE


def test_invitation_acceptance_page(jam, organizer) -> None:
    link = Invitation.objects.create(jam=jam, created_by=organizer)
    assert "Sign in" in Client().get(link.get_absolute_url()).content.decode()
    user = UserFactory()
    client = client_for(user)
    assert "Accept and join" in client.get(link.get_absolute_url()).content.decode()
    response = client.post(link.get_absolute_url())
    assert response.status_code == 302 and response["Location"] == jam.get_absolute_url()
    assert Membership.objects.filter(jam=jam, user=user).exists()


def test_jam_list_shows_mine_and_open_ones_only(participant, jam) -> None:
    open_jam = JamFactory(visibility=Visibility.MEMBERS, title="Open to all")
    hidden = JamFactory(visibility=Visibility.INVITATION, title="Secret jam")
    html = client_for(participant).get("/").content.decode()
    assert jam.title in html and open_jam.title in html and hidden.title not in html


def test_jam_home_query_count_is_constant(jam, participant, django_assert_max_num_queries) -> None:
    client = client_for(participant)
    for n in range(3):
        TopicFactory(jam=jam, title=f"T{n}")
    with django_assert_max_num_queries(12) as few:
        client.get(jam.get_absolute_url())
    for n in range(20):
        host = member(jam, Role.FACILITATOR)
        TopicFactory(jam=jam, title=f"More {n}").facilitators.add(host)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(jam.get_absolute_url())


def test_pages_send_a_content_security_policy(jam, participant) -> None:
    response = client_for(participant).get(jam.get_absolute_url())
    policy = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy
    assert "unsafe-inline" not in policy
    html = response.content.decode()
    assert '<script type="module"' in html and "nonce=" in html
    assert "onclick" not in html and "<script>" not in html


def test_language_switch_is_remembered_on_the_account(participant, jam) -> None:
    client = client_for(participant)
    client.post(reverse("accounts:language"), {"language": "de", "next": "/"})
    participant.refresh_from_db()
    assert participant.language == "de"
    assert Jam.objects.exists()
