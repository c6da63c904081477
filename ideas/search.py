"""Searching a jam's posts (selectors: reads only).

One query language on every database: words, each matching the words of a
post (an opening post's with its idea's title: ideas.models.post_text)
that start with it, case and accents aside ("school" finds "Schools"
and "schooling", "ecole" finds "École", "strasse" finds "Straße"; see
ideas/folding.py); "a phrase in quotes", its words in that order; and -word
or -"a phrase" to leave posts out. Every word and phrase must be there. No
language's stemming and no stop words, so it treats German, Spanish and
French posts as it treats English ones.

Posts found are listed best match first (BEST_MATCH): the more often the
words occur for the length of the post, the higher; in PostgreSQL also the
closer together they are (``ts_rank_cd``). Newest first and the other
orders of ideas.selectors.POST_ORDERS can be asked for.

PostgreSQL answers from GIN indexes: of the words of each post's folded
text, which the post keeps in ``search_words`` (triggers fill it,
migrations 0004 and 0005, the latter adding an opening post's title; the
ranking reads the words' positions there), and of the
ideas' titles' folded words (``to_tsvector('simple', jam_fold(title))``,
migration 0003). SQLite, the embedded default, tests each visible post of
the jam with a regular expression on its folded text, which is fine for a
trial jam and nothing bigger.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    Avg,
    BooleanField,
    Case,
    Count,
    Expression,
    F,
    FloatField,
    Func,
    QuerySet,
    Sum,
    TextField,
    Value,
    When,
)
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from jams.errors import Invalid
from jams.hours import per_hour
from jams.models import Jam, Topic

from .folding import fold
from .models import Idea, Post, post_visible
from .selectors import POST_ORDERS, post_order

MAX_QUERY_LENGTH = 200
MAX_TERMS = 8
RESULTS_PER_PAGE = 50
TOPICS_LISTED = 20

SEARCH_CONFIG = "simple"
"""The PostgreSQL text search configuration: lower-cases, keeps every word."""
SQLITE_MATCH = "jam_match"
"""SQLite's function (ideas.folding.sqlite_functions_add): whether a text
(with an opening post's idea title, see _sqlite_text), folded, has a match
of a regular expression; one call per row and term."""
SQLITE_RANK = "jam_rank"
"""SQLite's function for BEST_MATCH: a text's matches of the regular
expressions, folded, for its length; one call per row."""

BEST_MATCH = "relevant"
"""The order of posts found by words: how well they match, first."""


def _folded(field: str) -> Func:
    """A column's text folded (ideas.folding.fold) by PostgreSQL."""
    return Func(F(field), function="jam_fold", output_field=TextField())


WORDS: dict[str, Expression | F] = {
    "body": F("search_words"),
    "title": SearchVector(_folded("title"), config=SEARCH_CONFIG),
}
"""What PostgreSQL matches the words against, as its GIN indexes have them:
a post's stored words (migration 0004) and an idea's title's folded words
(the expression of migration 0003; a query must use exactly it for
PostgreSQL to use the index)."""
IDEAS_LISTED = 10

# A term: an optional minus, then "a phrase" (the closing quote may be
# missing) or a run of anything but spaces and quotes.
_TERM = re.compile(r'(-?)(?:"([^"]*)"?|([^\s"]+))')
# A word: letters and digits (``\w`` less the underscore).
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Term:
    """A word, or a phrase's words in order; all folded (lower case, no accents)."""

    words: tuple[str, ...]
    excluded: bool = False


@dataclass(frozen=True)
class ParsedQuery:
    text: str
    terms: tuple[Term, ...]

    @property
    def words(self) -> list[str]:
        """The words to find (not those to leave out), for highlighting."""
        return [word for term in self.terms if not term.excluded for word in term.words]


NO_WORDS = ParsedQuery("", ())
"""The empty query: no words, every post."""


def parse_query(text: str) -> ParsedQuery:
    """``text`` as terms; Invalid, with the reason, when it is too long, has
    too many terms or nothing to find. An empty text is an empty query."""
    text = " ".join(text.split())
    if len(text) > MAX_QUERY_LENGTH:
        raise Invalid(
            ngettext(
                "A search can be at most %(limit)d character long.",
                "A search can be at most %(limit)d characters long.",
                MAX_QUERY_LENGTH,
            )
            % {"limit": MAX_QUERY_LENGTH}
        )
    terms = []
    for match in _TERM.finditer(text):
        minus, phrase, bare = match.groups()
        words = tuple(_WORD.findall(fold(phrase or bare or "")))
        if words:
            terms.append(Term(words, excluded=minus == "-"))
    if text and not any(not term.excluded for term in terms):
        raise Invalid(_("Type at least one word to look for (letters or digits)."))
    if len(terms) > MAX_TERMS:
        raise Invalid(
            ngettext(
                "A search can have at most %(limit)d word or phrase.",
                "A search can have at most %(limit)d words or phrases.",
                MAX_TERMS,
            )
            % {"limit": MAX_TERMS}
        )
    return ParsedQuery(text, tuple(dict.fromkeys(terms)))


def _tsquery(terms: Sequence[Term]) -> str:
    """The terms as a ``to_tsquery`` text: each word a quoted prefix, a
    phrase's words joined by ``<->``; the words are letters and digits only,
    so nothing in them is tsquery syntax."""
    parts = []
    for term in terms:
        phrase = " <-> ".join(f"'{word}':*" for word in term.words)
        parts.append(f"!({phrase})" if term.excluded else f"({phrase})")
    return " & ".join(parts)


def _pattern(term: Term) -> str:
    """The regular expression for a term on SQLite (SQLITE_MATCH), against
    the folded text: each word at the start of a word of the post, a
    phrase's words with nothing but non-letters between."""
    return r"(?<![^\W_])" + r"[^\W_]*[\W_]+".join(re.escape(word) for word in term.words)


def _sqlite_text(field: str) -> tuple[Expression, F]:
    """The title and the text SQLite's functions read (ideas.models.post_text):
    an opening post's idea title and its body, a reply's body alone (no
    title), an idea's title alone."""
    no_title = Value(None, output_field=TextField())
    if field != "body":
        return no_title, F(field)
    title = Case(
        When(parent__isnull=True, then=F("idea__title")), default=no_title, output_field=TextField()
    )
    return title, F("body")


def where_words(rows: QuerySet[Any], field: str, query: ParsedQuery) -> QuerySet[Any]:
    """The ``rows`` (of posts or ideas) whose ``field`` (a post's ``body``, an
    idea's ``title``) matches ``query``; all of them for an empty query."""
    if not query.terms:
        return rows
    if connection.vendor == "postgresql":
        return rows.alias(words=WORDS[field]).filter(
            words=SearchQuery(_tsquery(query.terms), config=SEARCH_CONFIG, search_type="raw")
        )
    for term in query.terms:
        matches = Func(
            *_sqlite_text(field),
            Value(_pattern(term)),
            function=SQLITE_MATCH,
            output_field=BooleanField(),
        )
        rows = rows.exclude(matches) if term.excluded else rows.filter(matches)
    return rows


def words_order(order: str, query: ParsedQuery) -> str:
    """The order posts narrowed to ``query`` are listed in: ``order`` if it
    is one of POST_ORDERS; otherwise (BEST_MATCH, none or an unknown one)
    best match first when there are words to find, else POST_ORDERS' default."""
    if order in POST_ORDERS:
        return order
    return BEST_MATCH if query.words else post_order("")


def ordered(posts: QuerySet[Post], order: str, query: ParsedQuery) -> QuerySet[Post]:
    """``posts`` (found by ``query``) in ``words_order(order, query)``; best
    match first computes how well each of them matches (see the module's
    docstring), then newest first among equals."""
    order = words_order(order, query)
    if order != BEST_MATCH:
        return posts.order_by(*POST_ORDERS[order])
    found = [term for term in query.terms if not term.excluded]
    rank: Expression
    if connection.vendor == "postgresql":
        rank = SearchRank(
            WORDS["body"],
            SearchQuery(_tsquery(found), config=SEARCH_CONFIG, search_type="raw"),
            cover_density=True,
            normalization=Value(1),
        )
    else:
        patterns = [Value(_pattern(term)) for term in found]
        rank = Func(
            *_sqlite_text("body"), *patterns, function=SQLITE_RANK, output_field=FloatField()
        )
    return posts.alias(rank=rank).order_by("-rank", "-created_at", "-id")


def matching_posts(*, jam: Jam, query: ParsedQuery, topic_id: int | None = None) -> QuerySet[Post]:
    """The jam's visible posts (neither they nor their idea hidden) that match."""
    posts = Post.objects.filter(post_visible(), jam=jam)
    if topic_id is not None:
        posts = posts.filter(topic_id=topic_id)
    return where_words(posts, "body", query)


def matching_ideas(*, jam: Jam, query: ParsedQuery, topic_id: int | None = None) -> QuerySet[Idea]:
    """The jam's visible ideas whose title matches (not those merged into another)."""
    ideas = Idea.objects.filter(jam=jam, hidden_at__isnull=True, merged_into__isnull=True)
    if topic_id is not None:
        ideas = ideas.filter(topic_id=topic_id)
    return where_words(ideas, "title", query)


@dataclass(frozen=True)
class Found:
    """A matching post, as the results list it."""

    id: int
    idea_id: int
    idea_title: str
    text: str
    topic: str
    created_at: datetime
    sentiment: float | None
    agrees: int
    disagrees: int
    url: str
    opening: bool = False
    """Whether the post opens its idea: its title is part of what was searched."""


@dataclass(frozen=True)
class FoundIdea:
    """An idea whose title has the words."""

    id: int
    title: str
    topic: str
    replies: int
    url: str


@dataclass(frozen=True)
class TopicCount:
    topic_id: int
    title: str
    count: int


@dataclass(frozen=True)
class TimeBucket:
    """An hour, day or week (UTC) of the jam, and its posts with the words."""

    start: datetime
    end: datetime
    posts: int
    """Visible posts written in it (in the topic searched, if one is)."""
    found: int
    """Of them, those with the words."""
    scored: int = 0
    tone_sum: float = 0.0

    @property
    def share(self) -> float:
        return self.found / self.posts if self.posts else 0.0

    @property
    def share_percent(self) -> int:
        return round(100 * self.share)

    @property
    def sentiment(self) -> float | None:
        """Mean sentiment of the scored posts found."""
        return self.tone_sum / self.scored if self.scored else None


BUCKET_WIDTHS = [(timedelta(hours=1), 7 * 24), (timedelta(days=1), 26 * 7), (timedelta(weeks=1), 0)]
"""Bucket widths, each used while the jam's posts span at most so many of
them (hours for a week, days for half a year, weeks beyond): a jam is
read by the hour, a long-running or imported one by the day or week."""


@dataclass(frozen=True)
class OverTime:
    """When the posts with the words were written, against all posts."""

    width: timedelta
    buckets: list[TimeBucket]
    """Every bucket from the jam's first post to its last, empty ones too."""

    @property
    def peak(self) -> TimeBucket | None:
        """The (first) bucket with the most posts found."""
        return max(self.buckets, key=lambda bucket: bucket.found, default=None)

    @property
    def unit(self) -> str:
        return {timedelta(hours=1): "hour", timedelta(days=1): "day"}.get(self.width, "week")


def words_over_time(*, jam: Jam, query: ParsedQuery, topic_id: int | None = None) -> OverTime:
    """The jam's visible posts (of a topic, if given) and those of them that
    match ``query``, per hour, day or week (BUCKET_WIDTHS): two grouped
    queries, whatever the number of posts."""
    everything = per_hour(matching_posts(jam=jam, query=NO_WORDS, topic_id=topic_id))
    found = per_hour(
        matching_posts(jam=jam, query=query, topic_id=topic_id),
        scored=Count("sentiment"),
        tone_sum=Sum("sentiment"),
    )
    if not everything:
        return OverTime(timedelta(hours=1), [])
    first, last = min(everything), max(everything)
    width = next(width for width, most in BUCKET_WIDTHS if not most or last - first < width * most)
    if width > timedelta(hours=1):
        first = first.replace(hour=0)  # days and weeks start at midnight (UTC)
    count = (last - first) // width + 1
    posts, hits, scored, tone = [0] * count, [0] * count, [0] * count, [0.0] * count
    for hour, row in everything.items():
        posts[(hour - first) // width] += row["n"]
    for hour, row in found.items():
        i = (hour - first) // width
        hits[i] += row["n"]
        scored[i] += row["scored"]
        tone[i] += row["tone_sum"] or 0.0
    starts = [first + i * width for i in range(count + 1)]
    buckets = [
        TimeBucket(starts[i], starts[i + 1], posts[i], hits[i], scored[i], tone[i])
        for i in range(count)
    ]
    return OverTime(width, buckets)


@dataclass(frozen=True)
class SearchResults:
    query: ParsedQuery
    order: str
    posts: Page[Found]
    total: int
    sentiment: float | None
    """Mean sentiment of the scored matching posts."""
    scored: int
    ideas: list[FoundIdea]
    """Up to IDEAS_LISTED ideas whose title has the words, most active first."""
    by_topic: list[TopicCount]
    """How many matching posts each topic has, most first; over all topics,
    whichever one the results are filtered to."""
    over_time: OverTime | None
    """When the posts found were written (words_over_time), if asked for."""


def search(
    *,
    jam: Jam,
    query: ParsedQuery,
    topics: Sequence[Topic],
    topic_id: int | None = None,
    order: str = "",
    page: str | int | None = None,
    over_time: bool = False,
) -> SearchResults:
    """One page of the jam's visible posts that match ``query``, with how many
    match, their mean tone and how many are in each topic, and the ideas whose
    title has the words: four queries; with ``over_time``, also when they
    were written (words_over_time), two more. ``topics`` are the jam's,
    localized (jams.selectors.topics_localize), to name them."""
    order = words_order(order, query)
    titles = {topic.pk: topic.local.title for topic in topics}
    matches = matching_posts(jam=jam, query=query, topic_id=topic_id)
    summary = matches.aggregate(total=Count("id"), scored=Count("sentiment"), tone=Avg("sentiment"))
    per_topic = (
        matching_posts(jam=jam, query=query)
        .values("topic_id")
        .annotate(n=Count("id"))
        .order_by("-n", "topic_id")[:TOPICS_LISTED]
    )
    rows = ordered(matches, order, query).values_list(
        "id", "idea_id", "idea__title", "body", "topic_id", "created_at", "sentiment",
        "agree_count", "disagree_count", "parent_id",
    )  # fmt: skip
    paginator: Paginator[Any] = Paginator(rows, RESULTS_PER_PAGE)
    paginator.count = summary["total"]  # known already: spares the COUNT query
    listed = paginator.get_page(page)
    ideas = [
        FoundIdea(pk, title, titles.get(topic, ""), replies, f"/jams/{jam.slug}/ideas/{pk}/")
        for pk, title, topic, replies in matching_ideas(jam=jam, query=query, topic_id=topic_id)
        .order_by("-last_activity_at", "-id")
        .values_list("id", "title", "topic_id", "reply_count")[:IDEAS_LISTED]
    ]
    listed.object_list = [
        Found(
            id=pk, idea_id=idea, idea_title=title, text=body, topic=titles.get(topic, ""),
            created_at=created, sentiment=tone, agrees=agrees, disagrees=disagrees,
            url=f"/jams/{jam.slug}/ideas/{idea}/#post-{pk}", opening=parent is None,
        )
        for pk, idea, title, body, topic, created, tone, agrees, disagrees, parent
        in listed.object_list
    ]  # fmt: skip
    return SearchResults(
        query=query,
        order=order,
        posts=listed,
        total=summary["total"],
        sentiment=summary["tone"],
        scored=summary["scored"],
        ideas=ideas,
        by_topic=[
            TopicCount(row["topic_id"], titles.get(row["topic_id"], ""), row["n"])
            for row in per_topic
        ],
        over_time=words_over_time(jam=jam, query=query, topic_id=topic_id) if over_time else None,
    )
