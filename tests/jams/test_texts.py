"""The jam's own texts in several languages: the services organizers write
them with, the selectors that pick the viewer's, and the console forms."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts.models import User
from jams import selectors, services
from jams.errors import Forbidden, Invalid, NotFound
from jams.models import AuditEntry, Jam, JamText, LocalText, Role, Topic, TopicText
from jams.phases import Stage
from tests.factories import TopicFactory, jam_in_stage, member

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- jam_text_set ------------------------------------------------------------


def test_organizer_writes_updates_and_removes_a_translation(jam: Jam, organizer: User) -> None:
    text = services.jam_text_set(
        actor=organizer, jam=jam, language="es", title=" Ciudades ", description="Cómo vivir."
    )
    assert text is not None
    assert (text.language, text.title, text.description) == ("es", "Ciudades", "Cómo vivir.")
    services.jam_text_set(actor=organizer, jam=jam, language="es", title="Urbes", description="")
    assert JamText.objects.get(jam=jam, language="es").title == "Urbes"
    assert (
        services.jam_text_set(actor=organizer, jam=jam, language="es", title="", description=" ")
        is None
    )
    assert not JamText.objects.filter(jam=jam).exists()
    actions = list(
        AuditEntry.objects.filter(jam=jam, action__startswith="jam.text")
        .order_by("id")
        .values_list("action", "target")
    )
    assert actions == [
        ("jam.text_set", "es"),
        ("jam.text_set", "es"),
        ("jam.text_removed", "es"),
    ]


def test_writing_the_same_text_again_changes_nothing(jam: Jam, organizer: User) -> None:
    for _ in range(2):
        services.jam_text_set(
            actor=organizer, jam=jam, language="fr", title="Villes", description=""
        )
    assert AuditEntry.objects.filter(jam=jam, action="jam.text_set").count() == 1


@pytest.mark.parametrize("role", [Role.PARTICIPANT, Role.FACILITATOR, Role.EXECUTIVE])
def test_only_organizers_write_the_jams_texts(jam: Jam, role: Role) -> None:
    actor = member(jam, role)
    with pytest.raises(Forbidden):
        services.jam_text_set(actor=actor, jam=jam, language="es", title="X", description="")
    topic = TopicFactory(jam=jam)
    with pytest.raises(Forbidden):
        services.topic_text_set(actor=actor, topic=topic, language="es", title="X", description="")
    assert not JamText.objects.exists() and not TopicText.objects.exists()


def test_outsiders_cannot_write_texts(jam: Jam) -> None:
    """An organizer of another jam does not even learn this one exists."""
    outsider = member(jam_in_stage(Stage.DISCUSSION), Role.ORGANIZER)
    with pytest.raises(NotFound):
        services.jam_text_set(actor=outsider, jam=jam, language="es", title="X", description="")


@pytest.mark.parametrize("stage", [Stage.SETUP, Stage.VOTING, Stage.PUBLISHED])
def test_organizers_write_texts_in_every_stage(stage: Stage) -> None:
    jam = jam_in_stage(stage)
    organizer = member(jam, Role.ORGANIZER)
    assert services.jam_text_set(
        actor=organizer, jam=jam, language="de", title="Städte", description=""
    )


@pytest.mark.parametrize("language", ["en", "it", ""])
def test_the_default_and_unknown_languages_are_refused(
    jam: Jam, organizer: User, language: str
) -> None:
    with pytest.raises(Invalid):
        services.jam_text_set(
            actor=organizer, jam=jam, language=language, title="X", description=""
        )


def test_a_title_too_long_is_refused(jam: Jam, organizer: User) -> None:
    with pytest.raises(Invalid):
        services.jam_text_set(
            actor=organizer, jam=jam, language="es", title="x" * 201, description=""
        )
    assert not JamText.objects.exists()


def test_a_jams_default_language_can_change(jam: Jam, organizer: User) -> None:
    services.jam_update(actor=organizer, jam=jam, language="de")
    jam.refresh_from_db()
    assert jam.language == "de"
    with pytest.raises(Invalid):
        services.jam_text_set(actor=organizer, jam=jam, language="de", title="X", description="")
    services.jam_text_set(actor=organizer, jam=jam, language="en", title="Y", description="")


# --- topic_text_set ----------------------------------------------------------


def test_organizer_writes_and_removes_a_topic_translation(
    jam: Jam, topic: Topic, organizer: User
) -> None:
    text = services.topic_text_set(
        actor=organizer, topic=topic, language="fr", title="Transports", description="Bouger."
    )
    assert text is not None and text.topic_id == topic.pk
    entry = AuditEntry.objects.get(jam=jam, action="topic.text_set")
    assert entry.data == {"topic": topic.pk, "language": "fr", "title": "Transports"}
    services.topic_text_set(actor=organizer, topic=topic, language="fr", title="", description="")
    assert not TopicText.objects.exists()
    assert AuditEntry.objects.filter(jam=jam, action="topic.text_removed").count() == 1


def test_a_topic_text_in_the_jams_default_language_is_refused(
    topic: Topic, organizer: User
) -> None:
    with pytest.raises(Invalid):
        services.topic_text_set(
            actor=organizer, topic=topic, language="en", title="X", description=""
        )


# --- Selectors ---------------------------------------------------------------


def test_localize_picks_the_language_and_falls_back_field_by_field(jam: Jam) -> None:
    jam.title, jam.description = "Cities", "How we live."
    JamText.objects.create(jam=jam, language="es", title="Ciudades", description="")
    selectors.jams_localize([jam], language="es")
    assert jam.local == LocalText("Ciudades", "How we live.", "es")
    selectors.jams_localize([jam], language="de")
    assert jam.local == LocalText("Cities", "How we live.", "en")
    with translation.override("es"):
        selectors.jams_localize([jam])
    assert jam.local.title == "Ciudades"


def test_unlocalized_objects_show_their_default_texts(jam: Jam, topic: Topic) -> None:
    assert jam.local == LocalText(jam.title, jam.description, "en")
    assert topic.local == LocalText(topic.title, topic.description, "")


def test_localizing_in_the_default_language_queries_nothing(jam: Jam, topic: Topic) -> None:
    with CaptureQueriesContext(connection) as queries:
        selectors.jams_localize([jam], language="en")
        selectors.topics_localize([topic], jam=jam, language="en")
    assert len(queries) == 0


def _home_queries(jam: Jam, viewer: User) -> int:
    client = client_for(viewer)
    client.get(jam.get_absolute_url())  # warm the session
    with CaptureQueriesContext(connection) as queries:
        assert client.get(jam.get_absolute_url()).status_code == 200
    return len(queries)


def test_the_home_page_queries_do_not_grow_with_the_topics() -> None:
    counts = []
    for n in (1, 4):
        jam = jam_in_stage(Stage.DISCUSSION)
        JamText.objects.create(jam=jam, language="es", title="Una jam")
        for i in range(n):
            topic = TopicFactory(jam=jam)
            TopicText.objects.create(topic=topic, language="es", title=f"Tema {i}")
        counts.append(_home_queries(jam, member(jam, language="es")))
    assert counts[0] == counts[1]


def test_the_jam_list_queries_do_not_grow_with_the_jams() -> None:
    viewer = member(jam_in_stage(Stage.DISCUSSION), language="fr")
    counts = []
    for _ in range(2):
        client = client_for(viewer)
        client.get(reverse("jams:list"))
        with CaptureQueriesContext(connection) as queries:
            client.get(reverse("jams:list"))
        counts.append(len(queries))
        for _ in range(3):
            jam = jam_in_stage(Stage.DISCUSSION)
            JamText.objects.create(jam=jam, language="fr", title="Une jam")
            jam.memberships.create(user=viewer, role=Role.PARTICIPANT)
    assert counts[0] == counts[1]


# --- Console -----------------------------------------------------------------


def test_the_console_has_a_form_per_other_language(jam: Jam, organizer: User) -> None:
    JamText.objects.create(jam=jam, language="fr", title="Villes")
    html = client_for(organizer).get(reverse("jams:console", args=[jam.slug])).content.decode()
    for code in ("es", "fr", "de"):
        assert f'name="text_language" value="{code}"' in html
    assert 'value="en"' not in html.split('id="texts-heading"')[1]
    assert 'value="Villes"' in html


def test_the_console_saves_a_translation(jam: Jam, organizer: User) -> None:
    response = client_for(organizer).post(
        reverse("jams:console", args=[jam.slug]),
        {"text_language": "es", "text-es-title": "Ciudades", "text-es-description": "Texto."},
    )
    assert response.status_code == 302
    text = JamText.objects.get(jam=jam)
    assert (text.language, text.title, text.description) == ("es", "Ciudades", "Texto.")
    assert jam.title != "Ciudades"


def test_the_console_refuses_texts_from_non_organizers(jam: Jam, facilitator: User) -> None:
    response = client_for(facilitator).post(
        reverse("jams:console", args=[jam.slug]),
        {"text_language": "es", "text-es-title": "Ciudades"},
    )
    assert response.status_code == 403
    assert not JamText.objects.exists()


def test_the_topic_page_in_the_console_saves_a_translation(
    jam: Jam, topic: Topic, organizer: User
) -> None:
    address = reverse("jams:topic_edit", args=[jam.slug, topic.pk])
    assert 'name="text_language" value="de"' in client_for(organizer).get(address).content.decode()
    response = client_for(organizer).post(
        address, {"text_language": "de", "text-de-title": "Verkehr", "text-de-description": ""}
    )
    assert response.status_code == 302
    assert TopicText.objects.get(topic=topic, language="de").title == "Verkehr"
    topic.refresh_from_db()
    assert topic.title != "Verkehr"
