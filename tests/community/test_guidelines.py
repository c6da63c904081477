"""Guidelines block posting until accepted: service, HTTP and socket."""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.contrib.messages import get_messages
from django.urls import reverse

from community import services
from community.models import GuidelinesAcceptance, JamCommunity
from ideas import services as idea_services
from ideas.models import Idea
from jams.errors import Forbidden, GuidelinesRequired
from jams.models import Role
from jams.phases import Stage
from jamsite.asgi import application
from tests.factories import TopicFactory, jam_in_stage, member

from .helpers import client_for


@pytest.fixture
def with_guidelines(jam, organizer):
    return services.guidelines_update(
        actor=organizer, jam=jam, guidelines="# Be kind\n\n<script>x</script>",
        help_topic=None, unanswered_minutes=30,
    )  # fmt: skip


@pytest.mark.django_db
def test_posting_waits_for_acceptance(with_guidelines, topic, participant) -> None:
    assert "<script>" not in with_guidelines.guidelines_html
    with pytest.raises(GuidelinesRequired) as refused:
        idea_services.idea_create(actor=participant, topic=topic, title="T", body="B")
    assert refused.value.code == "guidelines_required"
    services.guidelines_accept(actor=participant, jam=topic.jam)
    written = idea_services.idea_create(actor=participant, topic=topic, title="T", body="B")
    other = member(topic.jam, Role.PARTICIPANT)
    with pytest.raises(GuidelinesRequired):
        idea_services.reply_create(actor=other, idea=Idea.objects.get(pk=written.idea_id), body="x")


@pytest.mark.django_db
def test_no_guidelines_no_gate(jam, topic, participant) -> None:
    JamCommunity.objects.create(jam=jam, guidelines="")
    idea_services.idea_create(actor=participant, topic=topic, title="T", body="B")


@pytest.mark.django_db
def test_http_post_is_refused_then_accepted(with_guidelines, jam, topic, participant) -> None:
    client = client_for(participant)
    response = client.post(topic.get_absolute_url(), {"title": "Idea", "body": "Body"})
    assert response.status_code == 302
    guidelines = reverse("community:guidelines", args=[jam.slug])
    assert response["Location"] == f"{guidelines}?next={quote(topic.get_absolute_url(), safe='')}"
    assert not Idea.objects.exists()
    assert any("guidelines" in str(m) for m in get_messages(response.wsgi_request))

    page = client.get(
        reverse("community:guidelines", args=[jam.slug]), {"next": topic.get_absolute_url()}
    )
    html = page.content.decode()
    assert "Be kind" in html and "I accept these guidelines" in html
    accepted = client.post(
        reverse("community:guidelines", args=[jam.slug]), {"next": topic.get_absolute_url()}
    )
    assert accepted.url == topic.get_absolute_url()
    assert GuidelinesAcceptance.objects.filter(jam=jam, user=participant).count() == 1
    client.post(topic.get_absolute_url(), {"title": "Idea", "body": "Body"})
    assert Idea.objects.count() == 1


@pytest.mark.django_db
def test_only_organizers_edit_guidelines(jam, facilitator, organizer) -> None:
    url = reverse("community:guidelines_edit", args=[jam.slug])
    assert client_for(facilitator).get(url).status_code == 403
    with pytest.raises(Forbidden):
        services.guidelines_update(
            actor=facilitator, jam=jam, guidelines="x", help_topic=None, unanswered_minutes=5
        )
    client = client_for(organizer)
    assert client.get(url).status_code == 200
    client.post(url, {"create_help_topic": "1"})
    community = JamCommunity.objects.get(jam=jam)
    assert community.help_topic is not None
    help_page = client.get(reverse("community:help", args=[jam.slug]))
    assert help_page.url == community.help_topic.get_absolute_url()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_socket_answers_guidelines_required() -> None:
    channel_layers.backends = {}

    def world():
        jam = jam_in_stage(Stage.DISCUSSION)
        topic = TopicFactory(jam=jam)
        organizer = member(jam, Role.ORGANIZER)
        participant = member(jam, Role.PARTICIPANT)
        services.guidelines_update(
            actor=organizer, jam=jam, guidelines="Be kind", help_topic=None, unanswered_minutes=30
        )
        return jam, topic, client_for(participant).cookies["sessionid"].value

    jam, topic, cookie = await database_sync_to_async(world)()
    comm = WebsocketCommunicator(
        application,
        f"/ws/jams/{jam.slug}/",
        headers=[
            (b"cookie", f"sessionid={cookie}".encode()),
            (b"origin", b"http://127.0.0.1:8000"),
        ],
    )
    connected, _ = await comm.connect()
    assert connected
    try:
        client_id = str(uuid.uuid4())
        await comm.send_to(
            text_data=json.dumps(
                {
                    "type": "post",
                    "client_id": client_id,
                    "topic": topic.pk,
                    "title": "T",
                    "body": "B",
                }
            )
        )
        while True:
            message = json.loads(await comm.receive_from(timeout=3))
            if message["type"] == "error":
                break
        assert message["code"] == "guidelines_required"
        assert message["client_id"] == client_id
        assert not await database_sync_to_async(Idea.objects.exists)()
    finally:
        await comm.disconnect()


@pytest.mark.django_db
def test_only_this_members_acceptance_of_this_jam_counts(
    with_guidelines, jam, topic, participant
) -> None:
    """guidelines_check is plain SQL: acceptance by someone else, or of
    another jam with guidelines, does not open this jam to the participant."""
    other_jam = jam_in_stage(Stage.DISCUSSION)
    GuidelinesAcceptance.objects.create(jam=other_jam, user=participant)
    GuidelinesAcceptance.objects.create(jam=jam, user=member(jam, Role.PARTICIPANT))
    with pytest.raises(GuidelinesRequired):
        services.guidelines_check(jam_id=jam.pk, user_id=participant.pk)
    with pytest.raises(GuidelinesRequired):
        idea_services.idea_create(actor=participant, topic=topic, title="T", body="B")
    services.guidelines_check(jam_id=other_jam.pk, user_id=participant.pk)  # no guidelines there
    services.guidelines_accept(actor=participant, jam=jam)
    services.guidelines_check(jam_id=jam.pk, user_id=participant.pk)
    with_guidelines.guidelines = ""
    with_guidelines.save(update_fields=["guidelines"])
    services.guidelines_check(jam_id=jam.pk, user_id=member(jam, Role.PARTICIPANT).pk)
