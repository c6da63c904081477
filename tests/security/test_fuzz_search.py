"""Property-based fuzzing of the searches (ideas/search.py): the search page,
a theme's page narrowed to words, the analysis page's count per theme and
the words CSV get Hypothesis-made query strings (the query language's own
characters in any order, tsquery syntax, markup, NUL, huge numbers, any
Unicode) and never answer with a server error. On PostgreSQL this is what
shows that no user text reaches ``to_tsquery`` as syntax."""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import services as analysis_services
from ideas.models import Post
from jams.models import Jam, Role
from jams.phases import Stage
from tests.factories import TopicFactory, idea_in, jam_in_stage, member

pytestmark = pytest.mark.django_db

QUERY_CHARACTERS = [*" \"'-*&|!:<>()\\_%.,", "a", "b", "é", "ß", "1", "²", "ﬁ", "\u0301"]
queries = st.one_of(
    st.text(st.sampled_from(QUERY_CHARACTERS), max_size=40),
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.sampled_from(["'a':* & !b", "a <-> b", "\x00", "x" * 5000, '"' * 300, "-" * 300]),
)
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=8),
)


@pytest.fixture
def jam(db: None) -> tuple[Jam, Client, str]:
    jam = jam_in_stage(Stage.DISCUSSION)
    organizer = member(jam, Role.ORGANIZER)
    topic = TopicFactory(jam=jam)
    for text in ("a b c", "Ab, bé! ß 1²", "école ﬁn", 'a\'b "c" -d'):
        idea = idea_in(jam, title=text, topic=topic)
        Post.objects.filter(idea=idea).update(body=f"{text} and more about parks")
    theme = analysis_services.analysis_run(jam=jam, k=2).themes.first()
    assert theme is not None
    client = Client()  # a server error raises here, with its traceback
    client.force_login(organizer)
    return jam, client, f"/jams/{jam.slug}/analysis/themes/{theme.pk}/"


FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(q=queries, topic=numbers, order=st.text(max_size=10), page=numbers, when=st.text(max_size=5))
def test_no_search_answers_with_a_server_error(
    jam: tuple[Jam, Client, str], q: str, topic: str, order: str, page: str, when: str
) -> None:
    the_jam, client, theme_path = jam
    params = {"q": q, "topic": topic, "order": order, "page": page, "when": when}
    for path in (f"/jams/{the_jam.slug}/search/", f"/jams/{the_jam.slug}/analysis/", theme_path):
        response = client.get(path, params)
        assert response.status_code < 500, (path, q)
    for path in (f"/jams/{the_jam.slug}/analysis/posts.csv", f"{theme_path}posts.csv"):
        response = client.get(path, {"q": q, "topic": topic, "order": order})
        assert response.status_code in (200, 400), (path, q)
        if response.status_code == 200:
            assert b"".join(response.streaming_content).startswith("\ufeff".encode())
