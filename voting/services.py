"""Writes for voting: rounds, their ballots, votes, pairwise judgments, rankings.

Every service checks permission and phase through jams.rules (Action.VOTE,
Action.MANAGE_BALLOT). A vote racing the end of voting (the clock, or an
organizer's "close now") is either counted or refused with ``phase_closed``;
no vote lands after the ranking was computed. Locks, in the order taken:

1. the round row, ``FOR KEY SHARE`` (``_vote_lock``), after a check that
   takes no lock (``_vote_precheck``, before the transaction), then the phase check against the
   schedule as committed at that moment, in a statement of its own (a
   statement sees the database as of its start, so a check in the locking
   statement could predate a close it waited for). Votes do not block each
   other; ``ranking_compute`` takes the round row ``FOR UPDATE`` once voting
   has closed, which waits for the votes still in flight, and every vote
   after it sees the closed phase. Late votes are refused by the pre-check
   without locking, so they cannot starve that ``FOR UPDATE``. (Votes do not
   lock the jam row: a transition's ``FOR UPDATE`` there would starve behind
   a stream of compatible share locks. They need not: a vote that read the
   schedule before the close committed was cast while voting was open.)
2. the voter's ``Ballot`` row, by an upsert (``INSERT ... ON CONFLICT DO
   UPDATE``), which creates it or locks it in one statement: one voter's
   concurrent submissions run one after the other, so the quotas (N
   approvals, K points) hold: each submission replaces the whole ballot.
3. only when the turnout changes: the round row's counter (``voters``),
   moved in the entries statement and held until commit. The turnout is
   not an event of the jam's log: after commit each process following the
   jam is told the round changed (``jams.realtime.hub_signal``), and its hub
   reads the counters once a second at most and pushes them to its sockets
   (jams/hub.py). As an event per first vote it cost every open socket a
   delivery per vote (1,000 voters online voting: a million deliveries)
   and took the jam row's lock for the event's seq.

A vote on PostgreSQL is five statements (pre-check, none when the caller
passes the jam context it read, as the round page does; lock and ballot items;
check; ballot upsert; entries replaced and, when the ballot starts or stops
counting, the turnout counter moved). Those of this module
and ``selectors.vote_context`` run through ``voting.prepared``: PostgreSQL
parses and plans each once per connection. docs/voting.md has the figures.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, cast

import numpy as np
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from ideas.models import Idea
from jams import realtime
from jams.errors import DomainError, Invalid, NotFound, PhaseClosed
from jams.models import Jam
from jams.phases import jam_state
from jams.rules import RESULTS_READY, Action, jam_require
from jams.selectors import JamContext, jam_context_for
from jams.services import audit_append

from . import ranking, selectors
from .methods import MAX_BALLOT_IDEAS, choices_clean, parameters_clean, requested_ids
from .models import (
    Ballot,
    BallotEntry,
    BallotItem,
    Method,
    PairOutcome,
    PairwiseJudgment,
    RankedIdeaResult,
    RankingResult,
    ResultsVisibility,
    VotingRound,
)
from .prepared import prepared_cursor

if TYPE_CHECKING:
    from accounts.models import User


# --- Locks and checks ----------------------------------------------------------


def _require(jam: Jam, actor: User, action: Action, now: datetime | None) -> datetime:
    now = now or timezone.now()
    jam_require(jam_context_for(jam=jam, user=actor), action, now=now)
    return now


def _vote_precheck(
    voting_round: VotingRound,
    actor: User,
    now: datetime | None,
    context: JamContext | None,
) -> None:
    """Refuse votes from outsiders and outside the voting stage, taking no lock.

    It runs before the vote's transaction: a refused vote is one statement,
    with no transaction to roll back (a rollback would also make psycopg drop
    the connection's prepared statements, voting/prepared.py). A ``context``
    the caller already read for this actor and the round's jam (the round
    page's ``jam_for_request``) stands in for that statement: it was read the
    same way, before the transaction and without a lock, and the check that
    decides is the one after the lock (``_vote_lock``), which always reads
    its own.
    """
    if context is None or context.jam.pk != voting_round.jam_id or context.user.pk != actor.pk:
        context = selectors.vote_context(jam_id=voting_round.jam_id, voter=actor)
    jam_require(context, Action.VOTE, now=now or timezone.now())


def _vote_lock(
    voting_round: VotingRound, actor: User, idea_ids: set[int], now: datetime | None
) -> tuple[datetime, set[int]]:
    """Lock the round row ``FOR KEY SHARE``, check again (module doc); returns
    the time of the vote and which of ``idea_ids`` are on the round's ballot.

    On PostgreSQL the lock and the ballot read are one statement (the ideas on
    a ballot are frozen while voting is open). SQLite has no row locks; its
    IMMEDIATE transactions serialize writers instead.
    """
    on_ballot = _round_lock(voting_round, idea_ids)
    now = now or timezone.now()
    ctx = selectors.vote_context(jam_id=voting_round.jam_id, voter=actor)
    jam_require(ctx, Action.VOTE, now=now)
    return now, on_ballot


def _round_lock(voting_round: VotingRound, idea_ids: set[int]) -> set[int]:
    """Lock the round row ``FOR KEY SHARE`` (PostgreSQL) and return which of
    ``idea_ids`` are on its ballot."""
    if connection.vendor != "postgresql":
        return _on_ballot(voting_round, idea_ids)
    with prepared_cursor() as cursor:
        cursor.execute(
            f"SELECT item.idea_id FROM {VotingRound._meta.db_table} r "  # noqa: S608
            f"LEFT JOIN {BallotItem._meta.db_table} item "
            "ON item.round_id = r.id AND item.idea_id = ANY(%s::bigint[]) "
            "WHERE r.id = %s::bigint FOR KEY SHARE OF r",
            [sorted(idea_ids), voting_round.pk],
        )
        return {idea_id for (idea_id,) in cursor.fetchall() if idea_id is not None}


# --- Rounds and their ballots ----------------------------------------------------


def round_create(
    *,
    actor: User,
    jam: Jam,
    title: str,
    method: str,
    parameters: dict[str, Any] | None = None,
    results_visibility: str = ResultsVisibility.AFTER_CLOSE,
    now: datetime | None = None,
) -> VotingRound:
    title = " ".join(title.split())
    if not title or len(title) > 200:
        raise Invalid(_("A round needs a title of at most 200 characters."))
    params = parameters_clean(method, parameters)
    if results_visibility not in ResultsVisibility.values:
        raise Invalid(_("Choose when the results are visible."))
    with transaction.atomic():
        _require(jam, actor, Action.MANAGE_BALLOT, now)
        voting_round = VotingRound.objects.create(
            jam=jam,
            title=title,
            method=method,
            parameters=params,
            results_visibility=results_visibility,
            created_by=actor,
        )
        audit_append(
            jam=jam,
            actor=actor,
            action="voting.round_created",
            target=title,
            data={"round": voting_round.pk, "method": method, "parameters": params},
        )
    return voting_round


def _eligible(idea: Idea, jam: Jam) -> Idea:
    """The idea that goes on a ballot for ``idea``: its survivor if it was merged."""
    if idea.jam_id != jam.pk:
        raise NotFound
    if idea.merged_into_id is not None:
        idea = Idea.objects.get(pk=idea.merged_into_id)
    if idea.hidden_at is not None:
        raise Invalid(_("Hidden ideas cannot go on a ballot."))
    return idea


def ballot_item_add(
    *, actor: User, round: VotingRound, idea: Idea, now: datetime | None = None
) -> BallotItem:
    """Put an idea on the ballot; a merged duplicate puts its surviving idea there."""
    jam = round.jam
    with transaction.atomic():
        _require(jam, actor, Action.MANAGE_BALLOT, now)
        idea = _eligible(idea, jam)
        voting_round = VotingRound.objects.select_for_update().get(pk=round.pk)
        item = BallotItem.objects.filter(round=voting_round, idea=idea).first()
        if item is not None:
            return item
        if voting_round.items.count() >= MAX_BALLOT_IDEAS:
            raise Invalid(_("A ballot holds at most %(n)d ideas.") % {"n": MAX_BALLOT_IDEAS})
        position = (voting_round.items.aggregate(m=Max("position"))["m"] or 0) + 1
        item = BallotItem.objects.create(round=voting_round, idea=idea, position=position)
        audit_append(
            jam=jam,
            actor=actor,
            action="voting.ballot_item_added",
            target=idea.title,
            data={"round": voting_round.pk, "idea": idea.pk},
        )
    return item


def ballot_item_remove(
    *, actor: User, round: VotingRound, idea: Idea, now: datetime | None = None
) -> bool:
    jam = round.jam
    with transaction.atomic():
        _require(jam, actor, Action.MANAGE_BALLOT, now)
        if idea.jam_id != jam.pk:
            raise NotFound
        list(VotingRound.objects.select_for_update().filter(pk=round.pk).values_list("pk"))
        removed, _counts = BallotItem.objects.filter(round=round, idea=idea).delete()
        if removed:
            audit_append(
                jam=jam,
                actor=actor,
                action="voting.ballot_item_removed",
                target=idea.title,
                data={"round": round.pk, "idea": idea.pk},
            )
    return bool(removed)


def shortlist_top(
    *, actor: User, round: VotingRound, by: str, n: int, now: datetime | None = None
) -> list[int]:
    """Add the ``n`` most discussed or most agreed eligible ideas; returns the ids added."""
    if by not in selectors.SHORTLIST_ORDERS:
        raise Invalid(_("Shortlist by “discussed”, “agreed” or “themes”."))
    if not 1 <= n <= MAX_BALLOT_IDEAS:
        raise Invalid(_("Shortlist 1 to %(n)d ideas.") % {"n": MAX_BALLOT_IDEAS})
    jam = round.jam
    with transaction.atomic():
        _require(jam, actor, Action.MANAGE_BALLOT, now)
        voting_round = VotingRound.objects.select_for_update().get(pk=round.pk)
        top = [c.idea.pk for c in selectors.shortlist_candidates(jam=jam, by=by, limit=n)]
        present = set(voting_round.items.values_list("idea_id", flat=True))
        new = [idea_id for idea_id in top if idea_id not in present]
        room = MAX_BALLOT_IDEAS - len(present)
        new = new[:room]
        start = (voting_round.items.aggregate(m=Max("position"))["m"] or 0) + 1
        BallotItem.objects.bulk_create(
            BallotItem(round=voting_round, idea_id=idea_id, position=start + i)
            for i, idea_id in enumerate(new)
        )
        audit_append(
            jam=jam,
            actor=actor,
            action="voting.shortlisted",
            target=f"top {n} {by}",
            data={"round": voting_round.pk, "added": new},
        )
    return new


# --- Votes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Cast:
    """What a vote returns: the size of the voter's ballot and the turnout."""

    size: int
    voters: int


def _ballot_locked(
    voting_round: VotingRound, actor: User, now: datetime, *, size: int | None = None
) -> tuple[int, int]:
    """The voter's ballot row, created if missing, locked until commit, in
    one statement; with ``size``, its size is set. Returns its id and size.

    (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``: it waits for a
    concurrent insert or update of the same ballot, then locks and updates
    the row as committed, so the size returned is never stale.)
    """
    table = Ballot._meta.db_table
    set_size = "size = excluded.size, " if size is not None else ""
    stamp = connection.ops.adapt_datetimefield_value(now)
    with prepared_cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (round_id, voter_id, size, created_at, updated_at) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (round_id, voter_id) "
            f"DO UPDATE SET {set_size}updated_at = excluded.updated_at RETURNING id, size",
            [voting_round.pk, actor.pk, size or 0, stamp, stamp],
        )
        (ballot_id, stored) = cursor.fetchone()
    return int(ballot_id), int(stored)


def _on_ballot(voting_round: VotingRound, idea_ids: set[int]) -> set[int]:
    """Which of these ideas are on the round's ballot."""
    return set(
        BallotItem.objects.filter(round=voting_round, idea_id__in=idea_ids).values_list(
            "idea_id", flat=True
        )
    )


def _voters_add(voting_round: VotingRound, delta: int) -> int:
    """Move the round's turnout counter by ``delta``; returns the new turnout.
    The counter's row lock is held until commit."""
    with prepared_cursor() as cursor:
        cursor.execute(
            f"UPDATE {VotingRound._meta.db_table} SET voters = voters + %s "  # noqa: S608
            "WHERE id = %s RETURNING voters",
            [delta, voting_round.pk],
        )
        (voters,) = cursor.fetchone()
    return int(voters)


def _turnout_changed(voting_round: VotingRound, size: int, voters: int) -> Cast:
    _turnout_signal(voting_round)
    return Cast(size=size, voters=voters)


def _turnout_signal(voting_round: VotingRound) -> None:
    """The turnout moved: after commit, the jam's processes push the round's
    counter to their sockets (coalesced, jams/hub.py)."""
    realtime.hub_signal(
        jam_id=voting_round.jam_id,
        message={"type": "hub.turnout", "jam": voting_round.jam_id, "round": voting_round.pk},
    )


def _turnout(voting_round: VotingRound, before: int, after: int) -> Cast:
    """The result of a vote that took a ballot from ``before`` to ``after``
    entries; records the turnout when the ballot started or stopped counting."""
    if (before > 0) == (after > 0):
        return Cast(size=after, voters=-1)
    return _turnout_changed(voting_round, after, _voters_add(voting_round, 1 if after else -1))


def vote_cast(
    *,
    actor: User,
    round: VotingRound,
    choices: Mapping[Any, Any],
    now: datetime | None = None,
    context: JamContext | None = None,
) -> Cast:
    """Replace the actor's ballot in an approval, rating or budget round.

    ``choices`` is the whole ballot, ``{idea id: value}``; an empty one
    withdraws the vote. Refused, with nothing changed: outside the voting
    stage (``PhaseClosed``), from non-members (``NotFound``), for ideas not on
    the ballot or values out of range (``Invalid``), over the quota
    (``TooLarge``). ``context``, the actor's view of the round's jam read
    before the call, spares the pre-check its statement (``_vote_precheck``).
    """
    voting_round = round
    _vote_precheck(voting_round, actor, now, context)
    with transaction.atomic():
        now, on_ballot = _vote_lock(voting_round, actor, requested_ids(choices), now)
        entries = choices_clean(voting_round.method, voting_round.parameters, choices, on_ballot)
        ballot_id, _size = _ballot_locked(voting_round, actor, now, size=len(entries))
        voters = _entries_replace(voting_round, ballot_id, entries)
        if voters is None:
            return Cast(size=len(entries), voters=-1)
        return _turnout_changed(voting_round, len(entries), voters)


type Outcome = Cast | DomainError


def votes_cast(
    *,
    round: VotingRound,
    votes: Sequence[tuple[User, Mapping[Any, Any]]],
    now: datetime | None = None,
) -> list[Outcome]:
    """``vote_cast`` for many voters of one round at once: their ballots in
    one transaction, by statements over the whole batch. Returns, per vote
    and in order, its ``Cast`` or the ``DomainError`` that refused it; a
    refused vote changes nothing and the others go on. The socket's votes
    come this way (``voting.live``, batched per process like posts,
    jams/groupcommit.py).

    What each vote is checked against and the locks are ``vote_cast``'s
    (module doc), taken once for the batch: the pre-check for every voter
    in one read and no lock (a closed stage refuses the batch before its
    transaction); then the round row ``FOR KEY SHARE`` with the ballot
    items of every idea named; every voter's context read again; every
    ballot checked; the accepted ballots upserted in one statement, in voter
    order (two batches that share voters lock them in the same order); their
    entries replaced and the turnout counter moved by the batch's net change
    in one more. Seven statements however many votes (five for one vote).
    A vote that moved the turnout gets the counter as of the batch. A voter
    who appears twice is cast in turn: the later ballot in a batch of its
    own after the first commits, so it replaces the first, as it would one
    by one.

    A lone vote, and every vote elsewhere than on PostgreSQL, is
    ``vote_cast``. Any other error (a deadlock, a lost connection) is
    raised, the batch's transaction rolled back; votes are idempotent, so
    the caller may cast each again alone (``voting.live.votes_submit``).
    """
    voting_round = round
    if connection.vendor != "postgresql" or len(votes) < 2:
        return [_alone(voting_round, actor, choices, now) for actor, choices in votes]
    first: list[int] = []
    seen: set[int] = set()
    for i, (actor, _choices) in enumerate(votes):
        if actor.pk not in seen:
            seen.add(actor.pk)
            first.append(i)
    if len(first) < len(votes):
        outcomes: dict[int, Outcome] = {}
        rest = [i for i in range(len(votes)) if i not in set(first)]
        for part in (first, rest):
            casts = votes_cast(round=voting_round, votes=[votes[i] for i in part], now=now)
            outcomes |= zip(part, casts, strict=True)
        return [outcomes[i] for i in range(len(votes))]
    return _votes_batch(voting_round, votes, now)


def _alone(
    voting_round: VotingRound, actor: User, choices: Mapping[Any, Any], now: datetime | None
) -> Outcome:
    try:
        return vote_cast(actor=actor, round=voting_round, choices=choices, now=now)
    except DomainError as exc:
        return exc


def _votes_batch(
    voting_round: VotingRound,
    votes: Sequence[tuple[User, Mapping[Any, Any]]],
    now: datetime | None,
) -> list[Outcome]:
    """votes_cast's batch on PostgreSQL: distinct voters, two or more."""
    outcomes: list[Outcome | None] = [None] * len(votes)
    voters = [actor for actor, _choices in votes]
    named: dict[int, set[int]] = {}
    checked_at = now or timezone.now()
    contexts = selectors.vote_contexts(jam_id=voting_round.jam_id, voters=voters)
    for i, (actor, choices) in enumerate(votes):
        try:
            jam_require(contexts[actor.pk], Action.VOTE, now=checked_at)
            named[i] = requested_ids(choices)
        except DomainError as exc:
            outcomes[i] = exc
    if named:
        with transaction.atomic():
            on_ballot = _round_lock(voting_round, set().union(*named.values()))
            now = now or timezone.now()
            contexts = selectors.vote_contexts(
                jam_id=voting_round.jam_id, voters=[voters[i] for i in named]
            )
            accepted: dict[int, dict[int, int]] = {}
            for i in named:
                try:
                    jam_require(contexts[voters[i].pk], Action.VOTE, now=now)
                    accepted[i] = choices_clean(
                        voting_round.method, voting_round.parameters, votes[i][1], on_ballot
                    )
                except DomainError as exc:
                    outcomes[i] = exc
            if accepted:
                ballots = _ballots_locked_many(
                    voting_round, {voters[i].pk: len(e) for i, e in accepted.items()}, now
                )
                voters_now, flipped = _entries_replace_many(
                    voting_round, {ballots[voters[i].pk]: e for i, e in accepted.items()}
                )
                for i, entries in accepted.items():
                    moved = ballots[voters[i].pk] in flipped
                    outcomes[i] = Cast(size=len(entries), voters=voters_now if moved else -1)
                if flipped:
                    _turnout_signal(voting_round)
    return cast("list[Outcome]", outcomes)  # every vote was cast or refused above


def _ballots_locked_many(
    voting_round: VotingRound, sizes: dict[int, int], now: datetime
) -> dict[int, int]:
    """``_ballot_locked`` for many voters, ``{voter id: size}``, in one
    statement, locking in voter order; returns ``{voter id: ballot id}``."""
    voter_ids = sorted(sizes)
    stamp = connection.ops.adapt_datetimefield_value(now)
    with prepared_cursor() as cursor:
        cursor.execute(
            _BALLOTS_SQL,
            [voting_round.pk, stamp, stamp, voter_ids, [sizes[v] for v in voter_ids]],
        )
        return {int(voter): int(ballot) for ballot, voter in cursor.fetchall()}


_BALLOTS_SQL: Final = (
    f"INSERT INTO {Ballot._meta.db_table} (round_id, voter_id, size, created_at, updated_at) "  # noqa: S608 (names only)
    "SELECT %s::bigint, voter, size, %s::timestamptz, %s::timestamptz "
    "FROM unnest(%s::bigint[], %s::integer[]) AS new (voter, size) ORDER BY voter "
    "ON CONFLICT (round_id, voter_id) "
    "DO UPDATE SET size = excluded.size, updated_at = excluded.updated_at RETURNING id, voter_id"
)


def _entries_replace_many(
    voting_round: VotingRound, ballots: dict[int, dict[int, int]]
) -> tuple[int, set[int]]:
    """``_entries_replace`` for many locked ballots, ``{ballot id: entries}``,
    in one statement (``_ENTRIES_MANY_SQL``); returns the turnout after the
    batch and the ballots that started or stopped counting (the turnout is
    read only when some did, else 0)."""
    ids = list(ballots)
    entry_ballots = [b for b, entries in ballots.items() for _ in entries]
    entry_ideas = [idea for entries in ballots.values() for idea in entries]
    entry_values = [value for entries in ballots.values() for value in entries.values()]
    with prepared_cursor() as cursor:
        cursor.execute(
            _ENTRIES_MANY_SQL,
            [
                ids,
                voting_round.pk,
                entry_ballots,
                entry_ideas,
                entry_values,
                ids,
                [bool(ballots[b]) for b in ids],
                voting_round.pk,
            ],
        )
        voters, flipped = cursor.fetchone()
    return (0 if voters is None else int(voters)), set(flipped)


# _ENTRIES_SQL over many ballots: the deletes counted per ballot, the
# inserts after them (they read the deletes' count), and one counter update
# by the net change of the ballots that start or stop counting, made only
# when one does. Returns the new turnout (or NULL) and those ballots.
_ENTRIES_MANY_SQL: Final = (
    f"WITH gone AS (DELETE FROM {BallotEntry._meta.db_table} "  # noqa: S608 (names only)
    "WHERE ballot_id = ANY(%s::bigint[]) RETURNING ballot_id), "
    "counted AS (SELECT ballot_id, count(*) AS n FROM gone GROUP BY ballot_id), "
    f"added AS (INSERT INTO {BallotEntry._meta.db_table} (ballot_id, round_id, idea_id, value) "
    "SELECT ballot, %s::bigint, idea, value FROM (SELECT count(*) FROM gone) AS after_gone, "
    "unnest(%s::bigint[], %s::bigint[], %s::integer[]) AS new (ballot, idea, value)), "
    "flips AS (SELECT new.ballot, new.counts FROM unnest(%s::bigint[], %s::boolean[]) "
    "AS new (ballot, counts) LEFT JOIN counted ON counted.ballot_id = new.ballot "
    "WHERE (coalesce(counted.n, 0) > 0) <> new.counts), "
    f"bumped AS (UPDATE {VotingRound._meta.db_table} "
    "SET voters = voters + (SELECT sum(CASE WHEN counts THEN 1 ELSE -1 END) FROM flips) "
    "WHERE id = %s::bigint AND EXISTS (SELECT FROM flips) RETURNING voters) "
    "SELECT (SELECT voters FROM bumped), ARRAY(SELECT ballot FROM flips)"
)


def _entries_replace(
    voting_round: VotingRound, ballot_id: int, entries: dict[int, int]
) -> int | None:
    """Replace a locked ballot's entries and, when the ballot starts or stops
    counting (it had no entries before and has some now, or the reverse),
    move the round's turnout counter; returns the new turnout then, else None.

    It runs after the ballot's lock was taken, so it sees the entries of a
    submission that held it. On PostgreSQL one statement (``_ENTRIES_SQL``),
    elsewhere the ORM (``_entries_replace_orm``); a test pins one against the
    other.
    """
    if connection.vendor != "postgresql":
        return _entries_replace_orm(voting_round, ballot_id, entries)
    with prepared_cursor() as cursor:
        cursor.execute(
            _ENTRIES_SQL,
            [
                ballot_id,
                ballot_id,
                voting_round.pk,
                list(entries),
                list(entries.values()),
                1 if entries else -1,
                voting_round.pk,
                bool(entries),
            ],
        )
        (voters,) = cursor.fetchone()
    return None if voters is None else int(voters)


def _entries_replace_orm(
    voting_round: VotingRound, ballot_id: int, entries: dict[int, int]
) -> int | None:
    before, _counts = BallotEntry.objects.filter(ballot_id=ballot_id).delete()
    BallotEntry.objects.bulk_create(
        BallotEntry(ballot_id=ballot_id, round=voting_round, idea_id=idea_id, value=value)
        for idea_id, value in entries.items()
    )
    if (before > 0) == bool(entries):
        return None
    return _voters_add(voting_round, 1 if entries else -1)


# The delete, the insert and the counter in one statement. The insert and the
# counter read the delete's count, so the delete runs first; rows deleted by
# the statement do not conflict with the ones it inserts. The counter's UPDATE
# changes the row only when the count before and the ballot after disagree on
# "counts in the turnout".
_ENTRIES_SQL: Final = (
    f"WITH gone AS (DELETE FROM {BallotEntry._meta.db_table} "  # noqa: S608 (names only)
    "WHERE ballot_id = %s::bigint RETURNING 1), "
    "counted AS (SELECT count(*) AS n FROM gone), "
    f"added AS (INSERT INTO {BallotEntry._meta.db_table} (ballot_id, round_id, idea_id, value) "
    "SELECT %s::bigint, %s::bigint, idea, value FROM counted, "
    "unnest(%s::bigint[], %s::integer[]) AS new (idea, value)), "
    f"bumped AS (UPDATE {VotingRound._meta.db_table} SET voters = voters + %s::integer "
    "WHERE id = %s::bigint AND ((SELECT n FROM counted) > 0) <> %s::boolean "
    "RETURNING voters) "
    "SELECT (SELECT voters FROM bumped)"
)


PAIR_CHOICES = ("first", "second", "undecided")


def pairwise_judge(
    *,
    actor: User,
    round: VotingRound,
    first: int,
    second: int,
    outcome: str,
    now: datetime | None = None,
    context: JamContext | None = None,
) -> Cast:
    """Record which of two ideas (``first``, ``second``, as shown) the actor
    prefers, or that they can't decide. Judging a pair again changes the
    judgment; it never counts twice. ``context`` as for ``vote_cast``."""
    voting_round = round
    if voting_round.method != Method.PAIRWISE:
        raise Invalid(_("This round is not a pairwise round."))
    if outcome not in PAIR_CHOICES:
        raise Invalid(_("Pick one of the two ideas, or “can't decide”."))
    if type(first) is not int or type(second) is not int or first == second:
        raise Invalid(_("Compare two different ideas."))
    low, high = sorted((first, second))
    if outcome == "undecided":
        points = PairOutcome.UNDECIDED
    else:
        winner = first if outcome == "first" else second
        points = PairOutcome.FIRST if winner == low else PairOutcome.SECOND
    _vote_precheck(voting_round, actor, now, context)
    with transaction.atomic():
        now, on_ballot = _vote_lock(voting_round, actor, {low, high}, now)
        if on_ballot != {low, high}:
            raise Invalid(_("Both ideas must be on this ballot."))
        ballot_id, before = _ballot_locked(voting_round, actor, now)
        _judgment, created = PairwiseJudgment.objects.update_or_create(
            ballot_id=ballot_id,
            first_idea_id=low,
            second_idea_id=high,
            defaults={"round": voting_round, "outcome": points},
        )
        if not created:
            return _turnout(voting_round, before, before)
        Ballot.objects.filter(pk=ballot_id).update(size=F("size") + 1)
        # One row at a time, in id order, so concurrent judges never deadlock.
        for idea_id in (low, high):
            BallotItem.objects.filter(round=voting_round, idea_id=idea_id).update(
                comparisons=F("comparisons") + 1
            )
        return _turnout(voting_round, before, before + 1)


# --- Rankings --------------------------------------------------------------------


def ranking_compute(
    *, round: VotingRound, now: datetime | None = None, force: bool = False
) -> RankingResult:
    """The round's stored ranking, computed once voting has closed.

    Idempotent: an existing result is returned as it is unless ``force``.
    Before reading the ballots it takes the round row ``FOR UPDATE`` in a
    short transaction of its own: that waits for every vote still in flight
    (they hold ``FOR KEY SHARE``), and every vote after it sees the closed
    phase (module doc).
    """
    voting_round = round
    if not force:
        existing = RankingResult.objects.filter(round=voting_round).first()
        if existing is not None:
            return existing
    jam = Jam.objects.get(pk=voting_round.jam_id)
    now = now or timezone.now()
    state = jam_state(
        [p.window() for p in jam.phases.all()], published_at=jam.results_published_at, now=now
    )
    if state.stage not in RESULTS_READY:
        raise PhaseClosed(_("Rankings are computed once voting has closed."))
    with transaction.atomic():
        # Wait for the votes in flight (they hold the round row FOR KEY SHARE).
        list(VotingRound.objects.select_for_update().filter(pk=voting_round.pk).values_list("pk"))
    started = time.perf_counter()
    computed = _rank(voting_round)
    elapsed_ms = int((time.perf_counter() - started) * 1000)
    try:
        with transaction.atomic():
            locked = VotingRound.objects.select_for_update().get(pk=voting_round.pk)
            existing = RankingResult.objects.filter(round=locked).first()
            if existing is not None:
                if not force:
                    return existing
                existing.delete()
            result = RankingResult.objects.create(
                round=locked,
                method=locked.method,
                parameters=locked.parameters,
                ballots=computed.ballots,
                entries=computed.entries,
                computed_at=timezone.now(),
                duration_ms=elapsed_ms,
            )
            RankedIdeaResult.objects.bulk_create(
                RankedIdeaResult(
                    result=result,
                    idea_id=r.idea_id,
                    rank=r.rank,
                    score=r.score,
                    low=r.low,
                    high=r.high,
                    total=r.total,
                    count=computed.counts[r.idea_id],
                    squares=computed.squares[r.idea_id],
                    n=r.n,
                    tie_group=r.tie_group,
                    tied_with_previous=r.tied_with_previous,
                )
                for r in computed.ranked
            )
            audit_append(
                jam=voting_round.jam,
                actor=None,
                action="voting.ranking_computed",
                target=voting_round.title,
                data={"round": voting_round.pk, "ballots": computed.ballots},
            )
    except IntegrityError:
        # Another process stored the result between our check and our insert.
        return RankingResult.objects.get(round=voting_round)
    return result


@dataclass(frozen=True)
class Computed:
    ranked: list[ranking.RankedIdea]
    ballots: int
    entries: int
    counts: dict[int, int]
    squares: dict[int, float]


def _rank(voting_round: VotingRound) -> Computed:
    """Load the round's votes as arrays, tally and rank them (voting/ranking.py)."""
    params = voting_round.parameters
    # Ascending, so that index order is id order (pairs are stored lower id first).
    idea_ids = np.array(
        sorted(BallotItem.objects.filter(round=voting_round).values_list("idea_id", flat=True)),
        dtype=np.int64,
    )
    ballots = selectors.ballots_cast(round=voting_round)
    if voting_round.method == Method.PAIRWISE:
        return _rank_pairwise(voting_round, idea_ids, ballots, params)
    if voting_round.method == Method.BUDGET:
        return _rank_budget(voting_round, idea_ids, ballots, params)
    tally = _sql_tally(voting_round, idea_ids, ballots)
    if voting_round.method == Method.APPROVAL:
        ranked = ranking.approval_ranking(tally=tally, confidence=params["confidence"])
    else:
        ranked = ranking.rating_ranking(
            tally=tally,
            prior_weight=params["prior_weight"],
            scale_min=params["scale_min"],
            scale_max=params["scale_max"],
            confidence=params["confidence"],
        )
    return Computed(
        ranked=ranked,
        ballots=ballots,
        entries=int(tally.counts.sum()),
        counts=dict(zip(idea_ids.tolist(), tally.counts.tolist(), strict=True)),
        squares=dict(zip(idea_ids.tolist(), tally.squares.tolist(), strict=True)),
    )


def _sql_tally(
    voting_round: VotingRound, idea_ids: np.ndarray, ballots: int
) -> ranking.BallotTally:
    """Count, sum and sum of squares per idea, aggregated in the database."""
    rows = (
        BallotEntry.objects.filter(round=voting_round, idea_id__in=idea_ids.tolist())
        .order_by()
        .values_list("idea_id")
        .annotate(count=Count("id"), total=Sum("value"), squares=Sum(F("value") * F("value")))
    )
    totals = np.zeros(idea_ids.size)
    counts = np.zeros(idea_ids.size, dtype=np.int64)
    squares = np.zeros(idea_ids.size)
    data = np.array(list(rows), dtype=np.float64).reshape(-1, 4)
    if data.size:
        index = ranking.dense_index(ids=data[:, 0].astype(np.int64), universe=idea_ids)
        counts[index], totals[index], squares[index] = data[:, 1], data[:, 2], data[:, 3]
    return ranking.BallotTally(
        idea_ids=idea_ids, totals=totals, counts=counts, squares=squares, n_ballots=ballots
    )


def _rank_budget(
    voting_round: VotingRound, idea_ids: np.ndarray, ballots: int, params: dict[str, Any]
) -> Computed:
    voters, ideas, values = selectors.entry_columns(round=voting_round)
    keep = np.isin(ideas, idea_ids)
    voters, ideas, values = voters[keep], ideas[keep], values[keep]
    index = ranking.dense_index(ids=ideas, universe=idea_ids)
    ranked = ranking.budget_ranking(
        idea_ids=idea_ids,
        voter_index=ranking.dense_index(ids=voters),
        idea_index=index,
        value=values,
        n_replicates=params["replicates"],
        confidence=params["confidence"],
        random_state=params["seed"],
    )
    counts = np.bincount(index, minlength=idea_ids.size)
    squares = np.bincount(index, weights=values.astype(np.float64) ** 2, minlength=idea_ids.size)
    return Computed(
        ranked=ranked,
        ballots=ballots,
        entries=int(values.size),
        counts=dict(zip(idea_ids.tolist(), counts.tolist(), strict=True)),
        squares=dict(zip(idea_ids.tolist(), squares.tolist(), strict=True)),
    )


def _rank_pairwise(
    voting_round: VotingRound, idea_ids: np.ndarray, ballots: int, params: dict[str, Any]
) -> Computed:
    first, second, outcome = selectors.judgment_columns(round=voting_round)
    keep = np.isin(first, idea_ids) & np.isin(second, idea_ids)
    first, second, outcome = first[keep], second[keep], outcome[keep]
    tally = ranking.comparison_tally(
        idea_ids=idea_ids,
        first_index=ranking.dense_index(ids=first, universe=idea_ids),
        second_index=ranking.dense_index(ids=second, universe=idea_ids),
        outcome=outcome / 2.0,
    )
    ranked = ranking.pairwise_ranking(
        tally=tally,
        prior_comparisons=params["prior_comparisons"],
        count_undecided_as_half=params["count_undecided_as_half"],
        confidence=params["confidence"],
    )
    shown = np.zeros(idea_ids.size, dtype=np.int64)
    per_pair = tally.first_wins + tally.second_wins + tally.undecided
    np.add.at(shown, tally.first, per_pair)
    np.add.at(shown, tally.second, per_pair)
    return Computed(
        ranked=ranked,
        ballots=ballots,
        entries=int(outcome.size),
        counts=dict(zip(idea_ids.tolist(), shown.tolist(), strict=True)),
        squares=dict.fromkeys(idea_ids.tolist(), 0.0),
    )
