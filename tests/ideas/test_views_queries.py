"""The jam home and a thread render with a constant number of queries,
however much there is to show (no N+1 in selectors or templates)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ideas.models import Idea, Post
from jams.models import Jam
from jams.phases import Stage
from tests.factories import TopicFactory, idea_in, jam_in_stage, member

pytestmark = pytest.mark.django_db


def queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def grow_home(jam: Jam, n: int) -> None:
    for _ in range(n):
        topic = TopicFactory(jam=jam)
        for i in range(3):
            idea_in(jam, topic=topic, title=f"Idea {i}", replies=2)


def grow_thread(idea: Idea, n: int) -> None:
    opening = Post.objects.get(idea=idea, parent=None)
    authors = [member(idea.jam) for _ in range(min(n, 20))]
    Post.objects.bulk_create(
        Post(
            jam=idea.jam,
            topic=idea.topic,
            idea=idea,
            parent=opening,
            depth=1,
            author=authors[i % len(authors)],
            body=f"reply {i}",
            body_html=f"<p>reply {i}</p>",
        )
        for i in range(n)
    )
    Idea.objects.filter(pk=idea.pk).update(reply_count=n + 1)


@pytest.fixture
def signed_in() -> Callable[[Jam], Client]:
    def sign_in(jam: Jam) -> Client:
        client = Client()
        client.force_login(member(jam))
        return client

    return sign_in


def thread_page(signed_in: Callable[[Jam], Client]) -> tuple[Jam, Client, Idea, str]:
    """A jam in discussion, a signed-in member's client, an idea and its page."""
    jam = jam_in_stage(Stage.DISCUSSION)
    client = signed_in(jam)
    idea = idea_in(jam, title="Thread")
    return jam, client, idea, reverse("ideas:idea", args=[jam.slug, idea.pk])


def test_jam_home_queries_do_not_grow(
    django_assert_max_num_queries: Callable[..., object], signed_in: Callable[[Jam], Client]
) -> None:
    jam = jam_in_stage(Stage.DISCUSSION)
    client = signed_in(jam)
    url = reverse("jams:home", args=[jam.slug])
    grow_home(jam, 1)
    small = queries(client, url)
    grow_home(jam, 6)
    with django_assert_max_num_queries(small):  # type: ignore[operator]
        client.get(url)


def test_thread_of_500_posts_queries_do_not_grow(
    django_assert_max_num_queries: Callable[..., object], signed_in: Callable[[Jam], Client]
) -> None:
    _jam, client, idea, url = thread_page(signed_in)
    grow_thread(idea, 5)
    small = queries(client, url)
    grow_thread(idea, 495)
    with django_assert_max_num_queries(small):  # type: ignore[operator]
        client.get(url)


def test_thread_queries_do_not_grow_with_merged_ideas(
    django_assert_max_num_queries: Callable[..., object], signed_in: Callable[[Jam], Client]
) -> None:
    jam, client, idea, url = thread_page(signed_in)
    duplicates = [idea_in(jam, title=f"Duplicate {i}") for i in range(6)]
    Idea.objects.filter(pk=duplicates[0].pk).update(merged_into=idea)
    small = queries(client, url)
    Idea.objects.filter(pk__in=[d.pk for d in duplicates]).update(merged_into=idea)
    with django_assert_max_num_queries(small):  # type: ignore[operator]
        response = client.get(url)
    for duplicate in duplicates:
        assert duplicate.get_absolute_url().encode() in response.content
