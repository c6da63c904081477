"""The main pages in Spanish, French and German: chosen by the language
cookie or the member's saved language, the <html lang> that goes with it,
translated emails, the jam's own texts in the viewer's language, dates in
the locale's format and times in the viewer's time zone."""

from __future__ import annotations

import re
import shutil
import subprocess
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext

from accounts.models import User
from ideas.models import Idea
from jams import services
from jams.models import Jam, JamText, Role, Topic, TopicText, Visibility
from jams.phases import Stage
from tests.factories import (
    JamFactory,
    TopicFactory,
    idea_in,
    jam_in_stage,
    member,
    round_with_ballot,
)

pytestmark = pytest.mark.django_db

LANGUAGES = ["es", "fr", "de"]


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogs() -> Iterator[None]:
    """Build the .mo files that `make test` builds, for a bare `pytest` run,
    and load them afresh (overriding LOCALE_PATHS resets the catalog cache)."""
    for po in Path(settings.LOCALE_PATHS[0]).glob("*/LC_MESSAGES/django.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            if shutil.which("msgfmt") is None:
                pytest.skip("needs GNU gettext (msgfmt) to compile the catalogs")
            subprocess.run(["msgfmt", "-o", str(mo), str(po)], check=True)  # noqa: S603, S607
    with override_settings(LOCALE_PATHS=list(settings.LOCALE_PATHS)):
        yield


def translated(language: str, msgid: str) -> str:
    """``msgid`` in ``language``, checked to be an actual translation."""
    with translation.override(language):
        text = gettext(msgid)
    assert text != msgid, f"{msgid!r} is not translated to {language}"
    return text


def html_lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', html)
    assert match, "no <html lang>"
    return match.group(1)


@dataclass
class Site:
    """A published jam with a topic, an idea and a voting round, seen by an
    organizer (who may open every page)."""

    jam: Jam
    topic: Topic
    idea: Idea
    organizer: User
    round_id: int


@pytest.fixture
def site() -> Site:
    jam = jam_in_stage(Stage.PUBLISHED)
    topic = TopicFactory(jam=jam)
    idea = idea_in(jam, topic=topic, title="Shared bikes")
    voting_round = round_with_ballot(jam, [idea])
    organizer = member(jam, Role.ORGANIZER)
    JamFactory(visibility=Visibility.PUBLIC)  # one to join, on the list
    return Site(jam, topic, idea, organizer, voting_round.pk)


# Each page and a string it shows, in every language.
PAGES: list[tuple[str, Callable[[Site], str], str]] = [
    ("jam list", lambda s: reverse("jams:list"), "Open to join"),
    ("jam home", lambda s: s.jam.get_absolute_url(), "Voting rounds and results"),
    (
        "topic",
        lambda s: s.topic.get_absolute_url(),
        "The discussion is closed: ideas can be read but not added.",
    ),
    (
        "thread",
        lambda s: reverse("ideas:idea", args=[s.jam.slug, s.idea.pk]),
        "The discussion is closed: this thread is read-only.",
    ),
    ("console", lambda s: reverse("jams:console", args=[s.jam.slug]), "Organizer console"),
    ("members", lambda s: reverse("jams:members", args=[s.jam.slug]), "Invite people"),
    ("voting", lambda s: reverse("voting:index", args=[s.jam.slug]), "Rounds"),
    (
        "results",
        lambda s: reverse("voting:results", args=[s.jam.slug, s.round_id]),
        "Tie",
    ),
    ("pulse", lambda s: reverse("analysis:pulse", args=[s.jam.slug]), "Jam pulse"),
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("page", "address", "msgid"), PAGES, ids=[p[0] for p in PAGES])
def test_page_in_the_language_of_the_cookie(
    site: Site, language: str, page: str, address: Callable[[Site], str], msgid: str
) -> None:
    client = Client()
    client.force_login(site.organizer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(address(site))
    assert response.status_code == 200, page
    html = response.content.decode()
    assert html_lang(html) == language
    assert translated(language, msgid) in html


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("page", "address", "msgid"), PAGES, ids=[p[0] for p in PAGES])
def test_page_in_the_members_saved_language(
    site: Site, language: str, page: str, address: Callable[[Site], str], msgid: str
) -> None:
    """The saved language wins over the browser's and over a stale cookie."""
    site.organizer.language = language
    site.organizer.save(update_fields=["language"])
    client = Client(headers={"accept-language": "en"})
    client.force_login(site.organizer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(address(site)).content.decode()
    assert html_lang(html) == language
    assert translated(language, msgid) in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_sign_in_page_in_the_browsers_and_the_cookies_language(language: str) -> None:
    by_browser = Client(headers={"accept-language": f"{language},en;q=0.5"})
    html = by_browser.get(reverse("account_login")).content.decode()
    assert html_lang(html) == language
    assert translated(language, "Sign up") in html
    by_cookie = Client()
    by_cookie.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    html = by_cookie.get(reverse("account_login")).content.decode()
    assert html_lang(html) == language
    assert translated(language, "Skip to content") in html


def test_the_language_switch_is_remembered_on_the_account(site: Site) -> None:
    client = Client()
    client.force_login(site.organizer)
    response = client.post(
        reverse("accounts:language"), {"language": "de", "next": site.jam.get_absolute_url()}
    )
    assert response.status_code == 302
    site.organizer.refresh_from_db()
    assert site.organizer.language == "de"
    fresh = Client()  # another browser: no cookie, the account decides
    fresh.force_login(site.organizer)
    assert html_lang(fresh.get(site.jam.get_absolute_url()).content.decode()) == "de"


@pytest.mark.parametrize("language", LANGUAGES)
def test_invitation_email_is_sent_in_the_inviters_language(
    language: str, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    jam = jam_in_stage(Stage.DISCUSSION, title="Cities")
    JamText.objects.create(jam=jam, language="es", title="Ciudades")
    inviter = member(jam, Role.ORGANIZER, language=language, name="Ana")
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(actor=inviter, jam=jam, email="new@example.com")
    [message] = mail.outbox
    title = "Ciudades" if language == "es" else "Cities"
    with translation.override(language):
        assert message.subject == gettext("You are invited to %(jam)s") % {"jam": title}
        invites = gettext("%(inviter)s invites you to take part in %(jam)s.")
    assert invites % {"inviter": "Ana", "jam": title} in message.body
    assert translated(language, "Accept the invitation here:") in message.body


@pytest.fixture
def bilingual() -> tuple[Jam, Topic]:
    """An English jam whose organizers also wrote its texts in Spanish."""
    jam = jam_in_stage(Stage.DISCUSSION, title="Future cities", description="How we live.")
    topic = TopicFactory(jam=jam, title="Transport", description="Getting around.")
    JamText.objects.create(
        jam=jam, language="es", title="Ciudades del futuro", description="Cómo vivimos."
    )
    TopicText.objects.create(topic=topic, language="es", title="Transporte", description="Moverse.")
    return jam, topic


def _viewer(jam: Jam, language: str) -> Client:
    client = Client()
    client.force_login(member(jam, Role.PARTICIPANT, language=language))
    return client


def test_a_spanish_viewer_reads_the_jams_spanish_texts(bilingual: tuple[Jam, Topic]) -> None:
    jam, topic = bilingual
    client = _viewer(jam, "es")
    home = client.get(jam.get_absolute_url()).content.decode()
    assert "<h1>Ciudades del futuro</h1>" in home  # in the page's language: no lang
    assert "Cómo vivimos." in home and "Transporte" in home and "Moverse." in home
    assert "Future cities" not in home and "Transport<" not in home
    listing = client.get(reverse("jams:list")).content.decode()
    assert "Ciudades del futuro" in listing and "Cómo vivimos." in listing
    page = client.get(topic.get_absolute_url()).content.decode()
    assert "<h1>Transporte</h1>" in page and "Moverse." in page
    assert "<title>Transporte · Ciudades del futuro · Jam</title>" in page


def test_a_german_viewer_falls_back_to_the_jams_default_language(
    bilingual: tuple[Jam, Topic],
) -> None:
    jam, topic = bilingual
    client = _viewer(jam, "de")
    home = client.get(jam.get_absolute_url()).content.decode()
    assert html_lang(home) == "de"
    assert '<h1 lang="en">Future cities</h1>' in home  # marked as English
    assert "How we live." in home and "Transport" in home
    assert "Ciudades" not in home and "Transporte" not in home
    page = client.get(topic.get_absolute_url()).content.decode()
    assert '<h1 lang="en">Transport</h1>' in page


def test_dates_follow_the_locale_and_times_the_viewers_time_zone() -> None:
    jam = jam_in_stage(Stage.DISCUSSION, time_zone="America/New_York")
    viewer = member(jam, language="de", time_zone="Europe/Berlin")
    client = Client()
    client.force_login(viewer)
    html = client.get(jam.get_absolute_url()).content.decode()
    phase = jam.phases.first()
    assert phase is not None
    berlin = timezone.localtime(phase.starts_at, zoneinfo.ZoneInfo("Europe/Berlin"))
    with translation.override("de"):
        expected = formats.date_format(berlin, "DATETIME_FORMAT")
        caption = gettext("Times in %(tz)s") % {"tz": "Europe/Berlin"}
    assert expected in html
    assert caption in html


def test_without_a_time_zone_of_their_own_viewers_see_the_jams() -> None:
    jam = jam_in_stage(Stage.DISCUSSION, time_zone="Asia/Tokyo")
    client = Client()
    client.force_login(member(jam))
    html = client.get(jam.get_absolute_url()).content.decode()
    phase = jam.phases.first()
    assert phase is not None
    tokyo = timezone.localtime(phase.starts_at, zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert formats.date_format(tokyo, "DATETIME_FORMAT") in html
    assert "Times in Asia/Tokyo" in html


def test_the_live_layer_reads_its_words_from_the_page() -> None:
    """The offline notice and the countdown's day unit are in the page,
    translated, not in the script or the style sheet."""
    jam = jam_in_stage(Stage.DISCUSSION)
    html = _viewer(jam, "fr").get(jam.get_absolute_url()).content.decode()
    assert translated("fr", "Offline, reconnecting…") in html
    assert 'data-days-label="j"' in html
    static = Path(settings.BASE_DIR) / "static"
    css = (static / "css" / "jam.css").read_text()
    assert not re.search(r'(?<![\w-])content:\s*"[^"]*[^\W\d_]', css)  # no words in CSS
    assert "reconnecting" not in (static / "js" / "jam.js").read_text()
