"""Searching a jam's posts (ideas/search.py, the search page).

Every test runs on the database of the run: SQLite answers with regular
expressions, PostgreSQL from its GIN index, and both must find the same
posts; the last tests check that PostgreSQL does use the index and folds
texts as Python does.
"""

from __future__ import annotations

import importlib
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from analysis.selectors import word_post_rows
from ideas import search as search_module
from ideas.folding import fold, postgresql_function_sql
from ideas.models import Idea, Post, post_text
from ideas.search import (
    BEST_MATCH,
    MAX_QUERY_LENGTH,
    MAX_TERMS,
    Term,
    matching_ideas,
    matching_posts,
    parse_query,
    search,
    words_over_time,
)
from ideas.templatetags.search_tags import search_excerpt
from jams.errors import Invalid
from jams.models import Jam, Role, Topic
from jams.phases import Stage
from tests.factories import HOUR, TopicFactory, UserFactory, idea_in, jam_in_stage, member

pytestmark = pytest.mark.django_db


def write(jam: Jam, body: str, *, topic: Topic | None = None, **fields: object) -> Post:
    """A reply with ``body`` under a new idea of ``jam``."""
    idea = idea_in(jam, title=f"Idea {Idea.objects.count() + 1}", topic=topic)
    opening = Post.objects.get(idea=idea, parent=None)
    return Post.objects.create(
        jam=jam, topic=idea.topic, idea=idea, parent=opening, depth=1, body=body,
        body_html=body, **fields,
    )  # fmt: skip


def found(jam: Jam, text: str, **kwargs: object) -> set[str]:
    return {
        post.body
        for post in matching_posts(jam=jam, query=parse_query(text), **kwargs)  # type: ignore[arg-type]
        if post.parent_id is not None
    }


def test_the_query_language() -> None:
    query = parse_query('  Schools "Bus  lanes" -parking -"car park" e-mail - ')
    assert query.terms == (
        Term(("schools",)),
        Term(("bus", "lanes")),
        Term(("parking",), excluded=True),
        Term(("car", "park"), excluded=True),
        Term(("e", "mail")),
    )
    assert query.words == ["schools", "bus", "lanes", "e", "mail"]
    assert query.text == 'Schools "Bus lanes" -parking -"car park" e-mail -'
    # A phrase left open runs to the end; punctuation alone is no term.
    assert parse_query('"open phrase').terms == (Term(("open", "phrase")),)
    # Words are folded: lower case, no accents (ideas/folding.py).
    assert parse_query("¿Qué? ... ÉCOLE!").terms == (Term(("que",)), Term(("ecole",)))
    assert parse_query("same SAME").terms == (Term(("same",)),)
    assert parse_query("").terms == ()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("x" * (MAX_QUERY_LENGTH + 1), f"at most {MAX_QUERY_LENGTH} characters"),
        (" ".join(f"w{i}" for i in range(MAX_TERMS + 1)), f"at most {MAX_TERMS} words"),
        ("-parking", "at least one word"),
        ("?!", "at least one word"),
    ],
)
def test_a_query_that_cannot_be_run_says_why(text: str, reason: str) -> None:
    with pytest.raises(Invalid, match=reason):
        parse_query(text)


def test_a_word_finds_words_that_start_with_it_whatever_their_case_and_accents(
    jam: Jam,
) -> None:
    bodies = ("Schools need funding.", "SCHOOLING matters", "preschool places", "École, Straße")
    for body in bodies:
        write(jam, body)
    assert found(jam, "school") == {"Schools need funding.", "SCHOOLING matters"}
    assert found(jam, "preschool") == {"preschool places"}
    assert found(jam, "éc") == found(jam, "ÉCO") == found(jam, "straß") == {"École, Straße"}
    assert found(jam, "ecole") == found(jam, "STRASSE") == found(jam, "stras") == {bodies[3]}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("Señor Muñoz, ¿qué opina?", "senor munoz que"),
        ("Über die Brücke gehen Bürger", "uber brucke burger"),
        ("Łódź, Ærøskøbing et l'œuvre", "lodz aeroskobing oeuvre"),
        ("Cafe\u0301 crème, written decomposed", "café creme"),
        ("ﬁnancement d'une école", "financement ecole"),
        ("ΟΔΟΣ and İstanbul", "οδος istanbul"),
    ],
)
def test_accents_and_other_marks_do_not_count(jam: Jam, body: str, words: str) -> None:
    """On either database, whichever way round the accents are."""
    write(jam, body)
    write(jam, "nothing of the sort")
    assert found(jam, words) == {body}
    assert found(jam, body) == {body}


def test_every_word_must_be_there_phrases_keep_their_order_a_minus_leaves_out(jam: Jam) -> None:
    for body in (
        "More bus lanes downtown.",
        "Lanes for the bus, please",
        "Bus lanes and parking",
        "Parking near the lanes",
    ):
        write(jam, body)
    assert found(jam, "bus lanes") == {
        "More bus lanes downtown.",
        "Lanes for the bus, please",
        "Bus lanes and parking",
    }
    assert found(jam, '"bus lanes"') == {"More bus lanes downtown.", "Bus lanes and parking"}
    assert found(jam, '"bus lanes" -parking') == {"More bus lanes downtown."}
    assert found(jam, 'lanes -"the bus"') == {
        "More bus lanes downtown.",
        "Bus lanes and parking",
        "Parking near the lanes",
    }
    # Words of a phrase are words: "bus" is not the end of "minibus".
    write(jam, "A minibus lane")
    assert found(jam, '"bus lane"') == {"More bus lanes downtown.", "Bus lanes and parking"}


def test_only_visible_posts_of_the_jam_and_topic_are_found(jam: Jam) -> None:
    main, other_topic = TopicFactory(jam=jam), TopicFactory(jam=jam)
    shown = write(jam, "cycling shown", topic=main)
    write(jam, "cycling hidden", hidden_at=timezone.now())
    in_hidden_idea = write(jam, "cycling in a hidden idea")
    Idea.objects.filter(pk=in_hidden_idea.idea_id).update(hidden_at=timezone.now())
    elsewhere = write(jam, "cycling in another topic", topic=other_topic)
    write(jam_in_stage(Stage.DISCUSSION), "cycling in another jam")
    assert found(jam, "cycling") == {shown.body, elsewhere.body}
    assert found(jam, "cycling", topic_id=other_topic.pk) == {elsewhere.body}


def test_results_count_tone_topics_and_order(jam: Jam) -> None:
    first, second = TopicFactory(jam=jam, title="First"), TopicFactory(jam=jam, title="Second")
    now = timezone.now()
    posts = [
        write(jam, "housing costs", topic=first, sentiment=-0.5, created_at=now, agree_count=1),
        write(jam, "housing first", topic=second, sentiment=0.25, created_at=now + timedelta(1)),
        write(jam, "housing plan", topic=second, created_at=now + timedelta(2), agree_count=3),
        write(jam, "transport", topic=second, sentiment=0.9),
    ]
    topics = [first, second]
    results = search(jam=jam, query=parse_query("housing"), topics=topics)
    assert results.total == 3
    assert results.scored == 2
    assert results.sentiment == pytest.approx(-0.125)
    assert [(row.topic_id, row.title, row.count) for row in results.by_topic] == [
        (second.pk, "Second", 2),
        (first.pk, "First", 1),
    ]
    assert [post.id for post in results.posts] == [posts[2].pk, posts[1].pk, posts[0].pk]
    newest = results.posts[0]
    assert newest.topic == "Second"
    assert newest.url == f"/jams/{jam.slug}/ideas/{posts[2].idea_id}/#post-{posts[2].pk}"
    agreed = search(jam=jam, query=parse_query("housing"), topics=topics, order="agreed")
    assert [post.id for post in agreed.posts] == [posts[2].pk, posts[0].pk, posts[1].pk]
    negative = search(jam=jam, query=parse_query("housing"), topics=topics, order="negative")
    assert [post.id for post in negative.posts] == [posts[0].pk, posts[1].pk, posts[2].pk]
    # Filtered to one topic, the list is; the count per topic still covers all.
    filtered = search(jam=jam, query=parse_query("housing"), topics=topics, topic_id=first.pk)
    assert [post.id for post in filtered.posts] == [posts[0].pk]
    assert filtered.total == 1
    assert len(filtered.by_topic) == 2


def test_best_match_first_ranks_by_how_often_the_words_occur_for_the_length(jam: Jam) -> None:
    now = timezone.now()
    long_once = write(
        jam,
        "We talked for a long while about many things and bike lanes came up once at the end",
        created_at=now + timedelta(3),
    )
    short_twice = write(jam, "Bike lanes, more BIKE lanes!", created_at=now)
    short_once = write(jam, "Bike lanes now", created_at=now + timedelta(1))
    tie = write(jam, "Bike paths now", created_at=now + timedelta(2))
    write(jam, "Nothing about it", created_at=now + timedelta(4))
    best = search(jam=jam, query=parse_query("bike"), topics=[])
    assert best.order == BEST_MATCH
    # Equals (short_once, tie) newest first.
    expected = [short_twice.pk, tie.pk, short_once.pk, long_once.pk]
    assert [post.id for post in best.posts] == expected
    newest = search(jam=jam, query=parse_query("bike"), topics=[], order="newest")
    assert [post.id for post in newest.posts] == [
        long_once.pk,
        tie.pk,
        short_once.pk,
        short_twice.pk,
    ]
    # A phrase counts where it occurs; words left out do not count.
    phrase = search(jam=jam, query=parse_query('"bike lanes" -end'), topics=[])
    assert [post.id for post in phrase.posts] == [short_twice.pk, short_once.pk]
    # Found posts' rows for download follow the same order.
    rows = word_post_rows(jam=jam, query=parse_query("bike"), order="")
    assert [row[0] for row in rows] == expected


def test_an_opening_post_is_searched_with_its_idea_title_and_a_reply_is_not(
    client: Client, jam: Jam, participant: User
) -> None:
    idea = idea_in(jam, title="Bike lanes on Main Street")
    opening = Post.objects.get(idea=idea, parent=None)
    Post.objects.filter(pk=opening.pk).update(body="We need them before winter.")
    reply = write(jam, "placeholder")
    Post.objects.filter(pk=reply.pk).update(idea=idea, parent=opening, body="Yes, before winter")

    def ids(words: str) -> list[int]:
        return [post.id for post in search(jam=jam, query=parse_query(words), topics=[]).posts]

    assert ids("bike") == [opening.pk]
    assert ids('"main street we need"') == [opening.pk]  # from the title into the text
    assert set(ids("winter")) == {opening.pk, reply.pk}
    assert search(jam=jam, query=parse_query("bike"), topics=[]).posts[0].opening
    client.force_login(participant)
    html = page(client, jam, q="bike")
    assert "<mark>Bike</mark> lanes on Main Street</a>" in html
    # A new title replaces the old one's words (PostgreSQL: the ideas' trigger).
    Idea.objects.filter(pk=idea.pk).update(title="Tram lines")
    assert ids("bike") == []
    assert ids("tram") == [opening.pk]


@pytest.mark.postgres
def test_postgresql_ranks_words_close_together_above_words_far_apart(jam: Jam) -> None:
    now = timezone.now()
    apart = write(jam, "bike one two three four five six seven parking", created_at=now + HOUR)
    together = write(jam, "bike parking one two three four five six seven", created_at=now)
    best = search(jam=jam, query=parse_query("parking bike"), topics=[])
    assert [post.id for post in best.posts] == [together.pk, apart.pk]


@pytest.mark.postgres
def test_postgresql_keeps_the_words_of_every_post_however_it_is_written(jam: Jam) -> None:
    """The trigger of migration 0004: a post written in bulk (as imports
    write) has its words, and a changed text replaces them; a change to
    anything else leaves them."""
    idea = idea_in(jam, title="Bulk")
    opening = Post.objects.get(idea=idea, parent=None)
    (bulk,) = Post.objects.bulk_create(
        [Post(jam=jam, topic=idea.topic, idea=idea, parent=opening, body="Großartige Idee")]
    )
    assert found(jam, "grossartig") == {"Großartige Idee"}
    Post.objects.filter(pk=bulk.pk).update(body="Ganz anders")
    assert found(jam, "grossartig") == set()
    assert found(jam, "ganz") == {"Ganz anders"}
    Post.objects.filter(pk=bulk.pk).update(agree_count=3)
    assert Post.objects.filter(pk=bulk.pk, search_words__isnull=True).exists() is False
    assert found(jam, "anders") == {"Ganz anders"}


def written_at(jam: Jam, moments: dict[str, datetime], **fields: object) -> None:
    """A reply for each text of ``moments``, it and its idea's opening post
    (titled "Idea n") written at that moment."""
    for body, moment in moments.items():
        post = write(jam, body, **fields)
        Post.objects.filter(pk__in=[post.pk, post.parent_id]).update(created_at=moment)


T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_when_the_posts_found_were_written_hour_by_hour(jam: Jam) -> None:
    minutes = timedelta(minutes=1)
    written_at(
        jam,
        {
            "rent is too high": T0 + 5 * minutes,
            "rent caps now": T0 + 50 * minutes,
            "parks": T0 + 55 * minutes,
            "nothing at ten": T0 + HOUR + 10 * minutes,
            "rent and parks": T0 + 3 * HOUR + 59 * minutes,
        },
    )
    Post.objects.filter(body="rent caps now").update(sentiment=-0.5)
    Post.objects.filter(body="rent and parks").update(sentiment=0.5)
    written_at(jam, {"rent, hidden": T0}, hidden_at=T0)  # its opening post is not hidden
    over_time = words_over_time(jam=jam, query=parse_query("rent"))
    assert over_time.unit == "hour"
    # Every hour from the first post to the last, the empty one at 11 too;
    # each reply's opening post ("Idea n") counts among all the posts.
    assert [(b.start, b.end, b.posts, b.found) for b in over_time.buckets] == [
        (T0, T0 + HOUR, 7, 2),
        (T0 + HOUR, T0 + 2 * HOUR, 2, 0),
        (T0 + 2 * HOUR, T0 + 3 * HOUR, 0, 0),
        (T0 + 3 * HOUR, T0 + 4 * HOUR, 2, 1),
    ]
    first, *_, last = over_time.buckets
    assert first.share == pytest.approx(2 / 7)
    assert first.sentiment == -0.5  # the other post found is not scored
    assert last.sentiment == 0.5
    assert over_time.buckets[1].sentiment is None
    assert over_time.peak == first
    # The share is of the topic's posts when the search is of one topic.
    topic = TopicFactory(jam=jam)
    written_at(jam, {"rent in the topic": T0 + 2 * HOUR}, topic=topic)
    in_topic = words_over_time(jam=jam, query=parse_query("rent"), topic_id=topic.pk)
    assert [(b.start, b.posts, b.found) for b in in_topic.buckets] == [(T0 + 2 * HOUR, 2, 1)]


@pytest.mark.parametrize(
    ("span", "unit", "first_bucket"),
    [
        (timedelta(days=6, hours=23), "hour", T0),
        (timedelta(days=8), "day", T0.replace(hour=0)),
        (timedelta(weeks=30), "week", T0.replace(hour=0)),
    ],
)
def test_a_long_jam_is_counted_by_the_day_or_the_week(
    jam: Jam, span: timedelta, unit: str, first_bucket: datetime
) -> None:
    written_at(jam, {"rent first": T0, "rent last": T0 + span, "other": T0 + span / 2})
    over_time = words_over_time(jam=jam, query=parse_query("rent"))
    assert over_time.unit == unit
    assert over_time.buckets[0].start == first_bucket
    assert over_time.buckets[-1].start <= T0 + span < over_time.buckets[-1].end
    assert sum(b.found for b in over_time.buckets) == 2
    assert sum(b.posts for b in over_time.buckets) == 6
    widths = {b.end - b.start for b in over_time.buckets}
    assert widths == {over_time.width}


def test_ideas_are_found_by_their_title(jam: Jam) -> None:
    topic = TopicFactory(jam=jam, title="Mobility")
    now = timezone.now()
    wanted = idea_in(jam, title="Night buses for shift workers", topic=topic, replies=2)
    older = idea_in(jam, title="Buses on Sundays", topic=topic, last_activity_at=now - HOUR)
    idea_in(jam, title="Night buses, hidden", topic=topic, hidden_at=now)
    idea_in(jam, title="Night buses, a duplicate", topic=topic, merged_into=wanted)
    idea_in(jam, title="Night trams", topic=topic)
    idea_in(jam_in_stage(Stage.DISCUSSION), title="Night buses elsewhere")
    found_ideas = [idea.title for idea in matching_ideas(jam=jam, query=parse_query("bus night"))]
    assert found_ideas == ["Night buses for shift workers"]
    results = search(jam=jam, query=parse_query("buses -trams"), topics=[topic])
    assert [(idea.id, idea.topic, idea.replies, idea.url) for idea in results.ideas] == [
        (wanted.pk, "Mobility", 2, f"/jams/{jam.slug}/ideas/{wanted.pk}/"),
        (older.pk, "Mobility", 0, f"/jams/{jam.slug}/ideas/{older.pk}/"),
    ]


def test_the_excerpt_marks_the_words_and_escapes_the_rest() -> None:
    html = search_excerpt("<b>Bus</b> lanes & buses; no minibus", ["bus"])
    assert html == "&lt;b&gt;<mark>Bus</mark>&lt;/b&gt; lanes &amp; <mark>buses</mark>; no minibus"
    long = "word " * 100 + "target here " + "tail " * 100
    excerpt = search_excerpt(long, ["target"])
    assert excerpt.startswith("… word") and excerpt.endswith(" …")
    assert "<mark>target</mark> here" in excerpt
    assert len(excerpt) < 400
    assert search_excerpt("no match here", ["zzz"]) == "no match here"
    # The words are folded; the text is marked as it is written.
    assert search_excerpt("L'École & la Straße", parse_query("ecole STRAS").words) == (
        "L&#x27;<mark>École</mark> &amp; la <mark>Straße</mark>"
    )


def page(client: Client, jam: Jam, **params: str) -> str:
    response = client.get(reverse("ideas:search", args=[jam.slug]), params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_lists_results_with_links_to_their_threads(
    client: Client, jam: Jam, participant: User
) -> None:
    post = write(jam, "Free <em>childcare</em> for shift workers")
    write(jam, "Nothing about it")
    titled = idea_in(jam, title="Childcare vouchers")
    Post.objects.filter(jam=jam).update(created_at=T0 + timedelta(minutes=10))  # in one hour
    client.force_login(participant)
    html = page(client, jam, q="childcare")
    assert "2 posts found" in html  # the reply, and the idea's opening post
    assert (
        f'<a href="/jams/{jam.slug}/ideas/{titled.pk}/"><mark>Childcare</mark> vouchers</a>' in html
    )
    assert f'href="/jams/{jam.slug}/ideas/{post.idea_id}/#post-{post.pk}"' in html
    assert "Free &lt;em&gt;<mark>childcare</mark>&lt;/em&gt; for shift workers" in html
    assert "Nothing about it" not in html
    # When they were written, on request: a chart, its summary, a table in UTC.
    assert "<svg" not in html
    link = re.search(r'<a href="\?([^"]+)#search-time-heading" data-search-when>', html)
    assert link is not None
    assert "Posts found per hour" not in html
    html = client.get(reverse("ideas:search", args=[jam.slug]) + "?" + unescape(link[1]))
    html = html.content.decode()
    assert 'name="when" value="1"' in html  # kept when the form is sent again
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart count-bars" role="img"' in html
    assert "Posts found per hour</title>" in html
    assert "Most in the hour from" in html and "2 posts, 40 % of that hour" in html
    assert '>2026-03-02 09:00</time></th><td class="number">2</td><td class="number">5</td>' in html
    html = page(client, jam, q="kindergarten")
    assert "0 posts found" in html
    assert "No visible post has all these words" in html
    # The jam's menu leads there, and a topic's page searches that topic.
    search = reverse("ideas:search", args=[jam.slug])
    assert f'href="{search}"' in page(client, jam)
    topic_page = client.get(reverse("ideas:topic", args=[jam.slug, post.topic_id])).content
    assert f'action="{search}"'.encode() in topic_page
    assert f'name="topic" value="{post.topic_id}"'.encode() in topic_page


def test_the_page_pages_through_many_results(
    client: Client, jam: Jam, participant: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "RESULTS_PER_PAGE", 2)
    posts = [write(jam, f"parks {i}") for i in range(5)]
    client.force_login(participant)
    html = page(client, jam, q="parks", order="oldest", page="3")
    assert "Posts 5-5 of 5." in html
    assert f'id="result-{posts[4].pk}"' in html and f'id="result-{posts[0].pk}"' not in html
    # The links keep the words and the order.
    assert 'href="?q=parks&amp;order=oldest&amp;page=2" rel="prev"' in html
    assert 'rel="next"' not in html


def test_a_bad_query_is_explained_on_the_page(client: Client, jam: Jam, participant: User) -> None:
    client.force_login(participant)
    html = page(client, jam, q="x" * (MAX_QUERY_LENGTH + 1))
    assert f"at most {MAX_QUERY_LENGTH} characters" in html
    assert 'aria-invalid="true"' in html
    assert "found" not in html


@pytest.mark.parametrize("role", [None, Role.EXECUTIVE])
def test_who_may_search(client: Client, jam: Jam, role: Role | None) -> None:
    write(jam, "secret plans")
    url = reverse("ideas:search", args=[jam.slug])
    assert client.get(url, {"q": "secret"}).status_code in (302, 403, 404)
    client.force_login(member(jam, role) if role else UserFactory())
    response = client.get(url, {"q": "secret"})
    if role is None:
        assert response.status_code in (403, 404)
    else:
        assert response.status_code == 200
        assert "<mark>secret</mark> plans" in response.content.decode()


def test_the_page_takes_as_many_queries_for_thirty_results_as_for_one(
    client: Client, jam: Jam, participant: User
) -> None:
    client.force_login(participant)
    url = reverse("ideas:search", args=[jam.slug])
    write(jam, "budget one")
    client.get(url, {"q": "budget"})
    with CaptureQueriesContext(connection) as few:
        client.get(url, {"q": "budget"})
    for i in range(30):
        write(jam, f"budget {i}", topic=TopicFactory(jam=jam))
    with CaptureQueriesContext(connection) as many:
        assert "31 posts found" in page(client, jam, q="budget")
    assert len(many) == len(few)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("model", "field", "index", "matches"),
    [(Post, "body", "post_search_words", 2), (Idea, "title", "idea_folded_title_words", 1)],
)
def test_postgresql_can_answer_from_the_indexes(
    jam: Jam, model: type[Post] | type[Idea], field: str, index: str, matches: int
) -> None:
    """The words are matched with the very expressions the indexes are built
    on (on tables this small the planner would rather use the jam's index:
    here only the words are asked for, and sequential scans are off)."""
    write(jam, "indexed words")
    idea_in(jam, title="Index of ideas")
    words = parse_query('index -"other words"')
    query = search_module.where_words(model.objects.all(), field, words)
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan
    # Posts: "indexed words" and the opening one, "Index of ideas"; ideas: that idea.
    assert query.count() == matches


def test_the_migration_defines_the_postgresql_fold_as_the_code_does() -> None:
    """Migration 0003 keeps a copy of the SQL (migrations must not change
    with the code); if ideas.folding changes, a new migration must follow."""
    migration = importlib.import_module("ideas.migrations.0003_search_ignores_case_and_accents")
    assert postgresql_function_sql() == migration.FUNCTION


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("title", "body"),
    [
        (None, "A reply"),
        ("", "An untitled opening"),
        ("Bike lanes", "We need them."),
        ("Bike lanes", "Bike lanes, now."),  # starts with its title: once
        ("A long imported comment cut sho…", "A long imported comment cut short here."),
        ("Ends with … inside", "Ends with … inside and more"),
    ],
)
def test_postgresql_composes_a_posts_text_as_python_does(title: str | None, body: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT jam_post_text(%s, %s)", [title, body])
        assert cursor.fetchone() == (post_text(title, body),)


@pytest.mark.postgres
def test_postgresql_folds_texts_as_python_does() -> None:
    texts = [
        "École Straße Łódź Ærøskøbing œuvre þorn ħajja ıstanbul İstanbul",  # noqa: RUF001
        "Cafe\u0301 ﬁne ½ ² ΟΔΟΣ ὁδός Ёлка Ñandú ǅ Å",
        "plain ascii, UPPER and lower 123",
    ]
    with connection.cursor() as cursor:
        for text in texts:
            cursor.execute("SELECT jam_fold(%s)", [text])
            assert cursor.fetchone() == (fold(text),)
