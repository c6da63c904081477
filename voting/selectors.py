"""Reads for voting: evaluated data, aggregates only, never who voted what.

The one exception is the voter's own ballot (``own_ballot``), read for the
voter themselves.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any, Final, cast

import numpy as np
from django.db import connection
from django.db.models import (
    CharField,
    Count,
    F,
    Field,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)

from ideas.models import Idea, Post
from jams.errors import NotFound
from jams.models import Jam, Membership, Phase
from jams.selectors import JamContext, _columns, _row

from . import pairs
from .methods import method_statement
from .models import (
    Ballot,
    BallotEntry,
    BallotItem,
    PairwiseJudgment,
    RankedIdeaResult,
    RankingResult,
    VotingRound,
)
from .prepared import prepared_cursor

if TYPE_CHECKING:
    import numpy.typing as npt

    from accounts.models import User

SHORTLIST_ORDERS: Final = ("discussed", "agreed", "themes")


def rounds_for_jam(*, jam: Jam) -> list[VotingRound]:
    """The jam's rounds with ``n_items`` (ideas on the ballot). One query."""
    return list(
        VotingRound.objects.filter(jam=jam)
        .annotate(n_items=Count("items"))
        .order_by("created_at", "id")
    )


def round_in_jam(*, jam: Jam, round_id: int) -> VotingRound:
    voting_round = VotingRound.objects.filter(jam=jam, pk=round_id).first()
    if voting_round is None:
        raise NotFound
    voting_round.jam = jam
    return voting_round


def vote_context(*, jam_id: int, voter: User) -> JamContext:
    """What the vote check needs: the jam's phases, its visibility and
    publication time, and the voter's role. The caller decides with
    ``jams.rules.jam_require``.

    It runs twice per vote, so the context's ``jam`` carries only what the
    check reads (id, visibility, ``results_published_at``; its other fields
    are deferred, loaded by a query of their own if touched); the phases are
    whole rows, in ``Phase.Meta.ordering``. A missing jam is
    ``Jam.DoesNotExist``.

    On PostgreSQL one plain statement, its SQL built once per process from
    the models' ``_meta``: compiling the ORM query was 40 % of a vote's
    Python CPU (docs/voting.md). tests/voting/test_selectors.py pins its
    result field by field against the ORM's. Elsewhere the ORM's query (a
    jam without phases costs a second one).
    """
    checked, phases = _vote_context_read(jam_id, voter)
    return _vote_context_of(jam_id, voter, checked, phases)


def vote_contexts(*, jam_id: int, voters: Sequence[User]) -> dict[int, JamContext]:
    """``vote_context`` for many voters of one jam (a batch of votes,
    ``services.votes_cast``), by voter id: the jam and its phases read once,
    the voters' roles by a second query, two statements whatever the number
    of voters. The contexts share one list of phases (read-only)."""
    checked, phases = _vote_context_read(jam_id, None)
    ids = sorted({voter.pk for voter in voters})
    if connection.vendor == "postgresql":
        with prepared_cursor() as cursor:
            cursor.execute(_ROLES_SQL, [jam_id, ids])
            roles = dict(cursor.fetchall())
    else:
        roles = dict(
            Membership.objects.filter(jam_id=jam_id, user_id__in=ids).values_list("user_id", "role")
        )
    visibility, published_at, _role = checked
    return {
        voter.pk: _vote_context_of(
            jam_id, voter, (visibility, published_at, roles.get(voter.pk)), phases
        )
        for voter in voters
    }


def _vote_context_read(jam_id: int, voter: User | None) -> tuple[Sequence[Any], list[Phase]]:
    """(visibility, results_published_at, the voter's role or None) and the
    jam's phases; ``voter=None`` reads no role."""
    if connection.vendor != "postgresql":
        return _vote_context_orm(jam_id=jam_id, voter=voter)
    sql, phase_fields = _VOTE_CONTEXT_SQL or _vote_context_sql()
    with prepared_cursor() as cursor:
        cursor.execute(sql, [None if voter is None else voter.pk, jam_id])
        rows = cursor.fetchall()
    if not rows:
        raise Jam.DoesNotExist
    phases = [_row(Phase, phase_fields, row[3:]) for row in rows if row[3] is not None]
    return rows[0][:3], phases


_ROLES_SQL: Final = (
    f"SELECT user_id, role FROM {Membership._meta.db_table} "  # noqa: S608 (names only)
    "WHERE jam_id = %s::bigint AND user_id = ANY(%s::bigint[])"
)


_JAM_CHECKED: Final = ("id", "visibility", "results_published_at")

# (sql, Phase's concrete fields in the order selected), built on first use.
_VOTE_CONTEXT_SQL: tuple[str, list[Field[Any, Any]]] | None = None


def _vote_context_sql() -> tuple[str, list[Field[Any, Any]]]:
    """The jam's checked columns and the voter's role, then every column of
    each phase: one row per phase (one row of NULL phase columns for a jam
    without phases). The membership is unique per (jam, user), so its LEFT
    JOIN adds no rows."""
    global _VOTE_CONTEXT_SQL
    qn = connection.ops.quote_name

    def column(model: type[Model], name: str) -> str:
        field = cast(Field[Any, Any], model._meta.get_field(name))
        return qn(cast(str, field.column))

    phase_fields, phase_cols = _columns(Phase, "p")
    order = ", ".join(
        f"p.{column(Phase, name.lstrip('-'))}{' DESC' if name.startswith('-') else ''}"
        for name in cast(list[str], Phase._meta.ordering)
    )
    sql = (
        f"SELECT j.{column(Jam, 'visibility')}, j.{column(Jam, 'results_published_at')}, "  # noqa: S608 (names only)
        f"m.{column(Membership, 'role')}, {phase_cols} "
        f"FROM {qn(Jam._meta.db_table)} j "
        f"LEFT JOIN {qn(Membership._meta.db_table)} m "
        f"ON m.{column(Membership, 'jam')} = j.{column(Jam, 'id')} "
        f"AND m.{column(Membership, 'user')} = %s::bigint "
        f"LEFT JOIN {qn(Phase._meta.db_table)} p "
        f"ON p.{column(Phase, 'jam')} = j.{column(Jam, 'id')} "
        f"WHERE j.{column(Jam, 'id')} = %s::bigint ORDER BY {order}"
    )
    _VOTE_CONTEXT_SQL = (sql, phase_fields)
    return _VOTE_CONTEXT_SQL


def _vote_context_orm(*, jam_id: int, voter: User | None) -> tuple[Sequence[Any], list[Phase]]:
    """_vote_context_read through the ORM: the phases with their jam's
    columns and a role subquery, or for a jam without phases the jam's
    columns alone."""

    def role(jam: str) -> Subquery | Value:
        if voter is None:
            return Value(None, output_field=CharField())
        return Subquery(
            Membership.objects.filter(jam_id=OuterRef(jam), user=voter).values("role")[:1]
        )

    phase_names = [f.attname for f in Phase._meta.concrete_fields]
    rows = list(
        Phase.objects.filter(jam_id=jam_id)
        .annotate(voter_role=role("jam_id"))
        .values_list("jam__visibility", "jam__results_published_at", "voter_role", *phase_names)
    )
    if rows:
        checked = rows[0][:3]
    else:
        checked = (
            Jam.objects.filter(pk=jam_id)
            .annotate(voter_role=role("pk"))
            .values_list("visibility", "results_published_at", "voter_role")
            .get()
        )
    phases = [Phase.from_db(connection.alias, phase_names, row[3:]) for row in rows]
    return checked, phases


def _vote_context_of(
    jam_id: int, voter: User, checked: Sequence[Any], phases: list[Phase]
) -> JamContext:
    """The context from (visibility, results_published_at, role) and the phases."""
    visibility, published_at, voter_role = checked
    jam = Jam.from_db(connection.alias, list(_JAM_CHECKED), [jam_id, visibility, published_at])
    return JamContext(jam=jam, user=voter, role=voter_role, phases=phases)


def ballots_cast(*, round: VotingRound) -> int:
    """How many voters have a ballot with at least one entry or judgment,
    counted from the ballots (``VotingRound.voters`` is the live counter)."""
    return Ballot.objects.filter(round=round, size__gt=0).count()


def ballot_ideas(*, round: VotingRound, topics: bool = True) -> list[Idea]:
    """The ideas on the round's ballot, in ballot order, with (the round's
    own, for ``get_absolute_url``) jam and, unless ``topics=False`` (the
    round page shows none), their topics. One query, or two when the round's
    jam is not loaded yet. An idea is on a ballot at most once (a unique
    constraint), so the join repeats none."""
    jam = round.jam
    query = Idea.objects.filter(ballot_items__round=round).order_by(
        "ballot_items__position", "ballot_items__id"
    )
    if topics:
        query = query.select_related("topic")
    ideas = list(query)
    for idea in ideas:
        if idea.jam_id == jam.pk:
            idea.jam = jam
    return ideas


def own_ballot(*, round: VotingRound, voter: User) -> dict[int, int]:
    """The voter's own entries, ``{idea id: value}``, to show them their vote."""
    return dict(
        BallotEntry.objects.filter(ballot__round=round, ballot__voter=voter).values_list(
            "idea_id", "value"
        )
    )


def own_judgment_count(*, round: VotingRound, voter: User) -> int:
    return (
        Ballot.objects.filter(round=round, voter=voter).values_list("size", flat=True).first() or 0
    )


def live_totals(*, round: VotingRound) -> dict[int, dict[str, int]]:
    """Running totals per idea (for rounds whose results are visible live)."""
    rows = (
        BallotEntry.objects.filter(round=round)
        .order_by()
        .values_list("idea_id")
        .annotate(total=Sum("value"), count=Count("id"))
    )
    return {idea_id: {"total": total, "count": count} for idea_id, total, count in rows}


# --- Pairwise --------------------------------------------------------------------


def pair_for_voter(*, round: VotingRound, voter: User) -> tuple[Idea, Idea] | None:
    """The next pair to show (voting/pairs.next_pair), left then right, or None."""
    items = list(BallotItem.objects.filter(round=round).values_list("idea_id", "comparisons"))
    if len(items) < 2:
        return None
    seen = PairwiseJudgment.objects.filter(ballot__round=round, ballot__voter=voter).values_list(
        "first_idea_id", "second_idea_id"
    )
    pair = pairs.next_pair(
        idea_ids=[idea_id for idea_id, _ in items],
        comparison_counts=[count for _, count in items],
        seen_pairs=list(seen),
        random_state=secrets.randbits(64),
    )
    if pair is None:
        return None
    ideas = Idea.objects.in_bulk(list(pair))
    return ideas[pair[0]], ideas[pair[1]]


# --- Shortlist ---------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    idea: Idea
    posts: int  # visible posts in the idea and the duplicates merged into it
    agrees: int  # agreements with the opening posts of the idea and its duplicates


def shortlist_candidates(
    *, jam: Jam, by: str = "discussed", limit: int | None = None, exclude: Iterable[int] = ()
) -> list[Candidate]:
    """Ideas that may go on a ballot (not hidden, not merged), with their
    activity summed over the duplicates merged into them, most active first."""
    ideas = {
        idea.pk: idea
        for idea in Idea.objects.filter(jam=jam, merged_into__isnull=True, hidden_at__isnull=True)
        .exclude(pk__in=list(exclude))
        .select_related("topic")
    }
    posts: dict[int, int] = dict.fromkeys(ideas, 0)
    agrees: dict[int, int] = dict.fromkeys(ideas, 0)
    rows = (
        Post.objects.filter(jam=jam, hidden_at__isnull=True)
        .annotate(owner=_survivor())
        .filter(owner__in=list(ideas))
        .order_by()
        .values_list("owner")
        .annotate(n=Count("id"), agree=Sum("agree_count", filter=Q(parent__isnull=True)))
    )
    for owner, n, agree in rows:
        posts[owner] = n
        agrees[owner] = agree or 0
    candidates = [Candidate(idea=ideas[pk], posts=posts[pk], agrees=agrees[pk]) for pk in ideas]
    if by == "themes":
        return _one_per_theme(jam, candidates, limit)
    if by == "agreed":
        candidates.sort(key=lambda c: (-c.agrees, -c.posts, c.idea.pk))
    else:
        candidates.sort(key=lambda c: (-c.posts, -c.agrees, c.idea.pk))
    return candidates if limit is None else candidates[:limit]


def _one_per_theme(jam: Jam, candidates: list[Candidate], limit: int | None) -> list[Candidate]:
    """The most discussed idea of each theme of the latest analysis (the theme
    of an idea is its opening post's), largest themes first."""
    from analysis.models import PostTheme
    from analysis.selectors import run_latest_done

    run = run_latest_done(jam=jam)
    if run is None:
        return []
    theme_of = dict(
        PostTheme.objects.filter(
            run=run, post__parent__isnull=True, post__idea_id__in=[c.idea.pk for c in candidates]
        ).values_list("post__idea_id", "theme_id")
    )
    size = dict(run.themes.values_list("id", "size"))
    best: dict[int, Candidate] = {}
    for candidate in sorted(candidates, key=lambda c: (-c.posts, -c.agrees, c.idea.pk)):
        theme = theme_of.get(candidate.idea.pk)
        if theme is not None and theme not in best:
            best[theme] = candidate
    ordered = [best[t] for t in sorted(best, key=lambda t: (-size.get(t, 0), t))]
    return ordered if limit is None else ordered[:limit]


def _survivor() -> Any:
    from django.db.models.functions import Coalesce

    return Coalesce(F("idea__merged_into_id"), F("idea_id"))


# --- Loading votes for the ranking math --------------------------------------------


def _int_columns(queryset: QuerySet[Any], fields: tuple[str, ...]) -> list[npt.NDArray[np.int64]]:
    """Integer columns of a query as arrays, without a Python object per value.

    On PostgreSQL the database packs the rows into one ``bytea`` of
    big-endian int8 values (``string_agg(int8send(...))``), which NumPy reads
    in place: a million rows in a fraction of a second. Elsewhere the rows
    come through ``values_list``.
    """
    query = queryset.order_by().values_list(*fields)
    if connection.vendor == "postgresql":
        return _packed_columns(*query.query.sql_with_params(), len(fields))
    rows = query.iterator(chunk_size=100_000)
    flat = np.fromiter(chain.from_iterable(rows), dtype=np.int64)
    table = flat.reshape(-1, len(fields))
    return [np.ascontiguousarray(table[:, i]) for i in range(len(fields))]


def _packed_columns(sql: str, params: tuple[Any, ...], width: int) -> list[npt.NDArray[np.int64]]:
    names = [f"c{i}" for i in range(width)]
    record = " || ".join(f"int8send({name}::bigint)" for name in names)
    packed = (
        f"SELECT string_agg({record}, ''::bytea) "  # noqa: S608 - our own column names
        f"FROM ({sql}) AS rows({', '.join(names)})"
    )
    with connection.cursor() as cursor:
        cursor.execute(packed, params)
        (data,) = cursor.fetchone()
    table = np.frombuffer(bytes(data or b""), dtype=">i8").reshape(-1, width)
    return [table[:, i].astype(np.int64) for i in range(width)]


def entry_columns(
    *, round: VotingRound
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The round's ballot entries as arrays: ballot id, idea id, value."""
    ballot, idea, value = _int_columns(
        BallotEntry.objects.filter(round=round), ("ballot_id", "idea_id", "value")
    )
    return ballot, idea, value


def judgment_columns(
    *, round: VotingRound
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The round's pairwise judgments: first (lower) idea id, second idea id,
    outcome in half-points for the first idea (2 won, 1 undecided, 0 lost)."""
    first, second, outcome = _int_columns(
        PairwiseJudgment.objects.filter(round=round),
        ("first_idea_id", "second_idea_id", "outcome"),
    )
    return first, second, outcome


# --- Stored results ---------------------------------------------------------------


@dataclass(frozen=True)
class RankingView:
    round: VotingRound
    result: RankingResult
    statement: str
    ideas: list[RankedIdeaResult]


def ranking_for_round(*, round: VotingRound) -> RankingView | None:
    """The stored ranking with its ideas (titles loaded), or None. Two queries."""
    result = RankingResult.objects.filter(round=round).first()
    if result is None:
        return None
    ideas = list(result.ideas.select_related("idea").order_by("rank"))
    return RankingView(
        round=round,
        result=result,
        statement=method_statement(result.method, result.parameters),
        ideas=ideas,
    )


def rankings_for_jam(*, jam: Jam) -> list[dict[str, Any]]:
    """Every stored ranking of the jam as plain data for reports and exports.

    Aggregates only: per idea its rank, score, interval, total and n; per
    round the method, its parameters and the number of ballots. No voter
    appears anywhere. Three queries.
    """
    results = list(
        RankingResult.objects.filter(round__jam=jam)
        .select_related("round")
        .order_by("round__created_at", "round_id")
    )
    rows: dict[int, list[dict[str, Any]]] = {result.pk: [] for result in results}
    for row in (
        RankedIdeaResult.objects.filter(result__round__jam=jam)
        .select_related("idea")
        .order_by("result_id", "rank")
    ):
        rows[row.result_id].append(
            {
                "id": row.idea_id,
                "title": row.idea.title,
                "rank": row.rank,
                "score": row.score,
                "interval": [row.low, row.high],
                "total": row.total,
                "count": row.count,
                "squares": row.squares,
                "n": row.n,
                "tie_group": row.tie_group,
                "tied_with_previous": row.tied_with_previous,
            }
        )
    return [
        {
            "round": {"id": result.round.pk, "title": result.round.title},
            "method": result.method,
            "parameters": result.parameters,
            "statement": method_statement(result.method, result.parameters),
            "ballots": result.ballots,
            "entries": result.entries,
            "computed_at": result.computed_at.isoformat(),
            "ideas": rows[result.pk],
        }
        for result in results
    ]


def round_turnouts(*, round_ids: Iterable[int]) -> dict[int, int]:
    """The committed turnout counter of each round (jams/hub.py pushes them)."""
    return dict(VotingRound.objects.filter(pk__in=list(round_ids)).values_list("pk", "voters"))
