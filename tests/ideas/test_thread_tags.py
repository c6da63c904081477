"""The thread page prints each post's time as ``{{ created_at|date:"DATETIME_FORMAT" }}``
does, in the viewer's language and time zone (ideas/templatetags/thread_tags.py
formats them with ``LocalDates``, which reuses the parts shared by many posts)."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import formats, timezone, translation

from ideas.models import Post
from ideas.templatetags.thread_tags import LocalDates
from jams.phases import Stage
from tests.factories import idea_in, jam_in_stage, member
from tests.ideas.test_views_thread import Tree

LANGUAGES = ["en", "fr", "es", "de"]
# UTC, both hemispheres' daylight saving time, a half-hour offset, and a
# half-hour daylight saving shift.
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
# Every format character Django knows, escaped ones, and the site's formats.
FORMATS = [
    "DATETIME_FORMAT",
    "SHORT_DATETIME_FORMAT",
    "DATE_FORMAT",
    r"aAbcdDeEfFgGhHiIjlLmMnNoOPrsStTUuwWyYzZ \a\t \\ H\h jS",
]


def moments() -> list[datetime]:
    """Times around both 2026 daylight saving changes in Europe and the US
    (ambiguous and skipped local hours), Lord Howe's, midnight and noon in
    several zones, and the turn of a year, a few minutes apart and not on
    whole minutes."""
    starts = [
        datetime(2026, 3, 28, 22, 0, tzinfo=UTC),  # Europe: 29 March, 01:00 UTC
        datetime(2026, 10, 24, 23, 0, tzinfo=UTC),  # Europe: 25 October
        datetime(2026, 3, 8, 5, 0, tzinfo=UTC),  # US: 8 March, 07:00 UTC
        datetime(2026, 11, 1, 4, 0, tzinfo=UTC),  # US: 1 November
        datetime(2026, 4, 4, 14, 0, tzinfo=UTC),  # Lord Howe: 5 April
        datetime(2026, 12, 31, 17, 0, tzinfo=UTC),
    ]
    values = [start + timedelta(minutes=11 * i, seconds=i) for start in starts for i in range(40)]
    whole = [
        datetime(2026, 6, 1, hour, minute, tzinfo=UTC) for hour in range(24) for minute in (0, 30)
    ]
    return values + whole + [datetime(2026, 6, 1, 0, 0, 0, 1, tzinfo=UTC)]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("zone", ZONES)
def test_local_dates_print_what_date_format_prints(language: str, zone: str) -> None:
    values = moments()
    with translation.override(language), timezone.override(zoneinfo.ZoneInfo(zone)):
        for format_name in FORMATS:
            dates = LocalDates(format_name)
            expected = [formats.date_format(timezone.localtime(v), format_name) for v in values]
            # Twice over: the second pass reads what the first one kept.
            assert [dates(v) for v in values] == expected
            assert [dates(v) for v in values] == expected


def shown_times(client: Client, url: str) -> dict[str, str]:
    """The post's <time> text by its datetime attribute."""
    response = client.get(url)
    assert response.status_code == 200
    times = Tree(response.content.decode()).root.all("time")
    return {t.attrs["datetime"]: t.full_text() for t in times if "data-countdown" not in t.attrs}


def date_filter(value: datetime, *, language: str, zone: str) -> str:
    with translation.override(language), timezone.override(zoneinfo.ZoneInfo(zone)):
        return Template('{{ value|date:"DATETIME_FORMAT" }}').render(Context({"value": value}))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "viewer_zone", "jam_zone", "shown_in"),
    [
        ("fr", "America/New_York", "UTC", "America/New_York"),
        ("es", "", "Asia/Kolkata", "Asia/Kolkata"),
        ("de", "Europe/Berlin", "Asia/Kolkata", "Europe/Berlin"),
        ("en", "", "Australia/Lord_Howe", "Australia/Lord_Howe"),
    ],
)
def test_the_thread_shows_each_post_time_as_the_date_filter_does(
    language: str, viewer_zone: str, jam_zone: str, shown_in: str
) -> None:
    jam = jam_in_stage(Stage.DISCUSSION, time_zone=jam_zone)
    viewer = member(jam, language=language, time_zone=viewer_zone)
    idea = idea_in(jam, title="Thread")
    opening = Post.objects.get(idea=idea, parent=None)
    for i, moment in enumerate(moments()[::7]):
        Post.objects.create(
            jam=jam, topic=idea.topic, idea=idea, parent=opening, depth=1, author=viewer,
            body=f"reply {i}", body_html=f"<p>reply {i}</p>", created_at=moment,
        )  # fmt: skip
    client = Client()
    client.force_login(viewer)
    shown = shown_times(client, reverse("ideas:idea", args=[jam.slug, idea.pk]))
    posts = list(Post.objects.filter(idea=idea))
    assert len(shown) == len(posts) > 30
    for post in posts:
        expected = date_filter(post.created_at, language=language, zone=shown_in)
        assert shown[post.created_at.isoformat()] == expected
    # Not the same text in the site's language and zone.
    assert any(
        text != date_filter(datetime.fromisoformat(at), language="en", zone="UTC")
        for at, text in shown.items()
    )
