"""Pol.is open-data import and export (comments.csv, votes.csv, participants-votes.csv,
summary.csv), as published in compdemocracy/openData.

Import is an operator tool: it bypasses the discussion-phase rule, writes in
bulk in one transaction and leaves one audit entry. Comments become ideas
(an idea and its opening post, with the original timestamp and author);
authors and voters become imported participants (unusable passwords,
``polis-<conversation>-<participant>@import.invalid``); votes become reactions
(1 agree, -1 disagree, 0 pass; a later vote replaces an earlier one); comments
the moderators rejected (-1) are hidden. Without votes.csv the votes come
from participants-votes.csv, dated at their comment's time.
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from analysis.pipeline.sentiment import score_sentiments
from analysis.pipeline.text import detect_language
from ideas.models import Idea, Post, Reaction, ReactionValue
from ideas.rendering import markdown_render
from jams.errors import Invalid
from jams.models import Jam, Membership, Role, Topic
from jams.services import audit_append

from .models import GroupMember, PolisImport, PolisParticipant
from .selectors import run_latest_done

if TYPE_CHECKING:
    from collections.abc import Sequence

VALUE_OF_VOTE = {1: ReactionValue.AGREE, -1: ReactionValue.DISAGREE, 0: ReactionValue.PASS}
VOTE_OF_VALUE = {value: vote for vote, value in VALUE_OF_VOTE.items()}
REJECTED = "-1"
IMPORT_DOMAIN = "import.invalid"
HIDDEN_REASON = "Rejected by the Pol.is moderators."
TITLE_LENGTH = 120
BATCH = 5000


@dataclass(frozen=True)
class PolisComment:
    comment_id: str
    author_id: str
    created_at: datetime
    moderated: str
    body: str


@dataclass(frozen=True)
class PolisVote:
    comment_id: str
    voter_id: str
    vote: int
    at: datetime


@dataclass(frozen=True)
class PolisConversation:
    conversation: str
    topic: str
    url: str
    description: str
    comments: list[PolisComment]
    votes: list[PolisVote]
    votes_source: str


@dataclass(frozen=True)
class ImportResult:
    conversation: str
    topic: Topic
    ideas: int
    hidden: int
    participants: int
    reactions: int
    votes_source: str
    seconds: float


# --- Reading -----------------------------------------------------------------


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _moment(milliseconds: str) -> datetime:
    return datetime.fromtimestamp(int(milliseconds) / 1000, tz=UTC)


def read_summary(directory: Path) -> dict[str, str]:
    path = directory / "summary.csv"
    if not path.exists():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        return {row[0]: row[1] for row in csv.reader(handle) if len(row) >= 2}


def conversation_id(directory: Path, summary: dict[str, str]) -> str:
    """The Pol.is conversation id from summary.csv's url, else the folder's name."""
    url = summary.get("url", "").rstrip("/")
    if url:
        return slugify(url.rsplit("/", 1)[-1])[:60]
    return slugify(directory.name)[:60]


def read_conversation(directory: Path) -> PolisConversation:
    summary = read_summary(directory)
    comments = [
        PolisComment(
            comment_id=row["comment-id"],
            author_id=row["author-id"],
            created_at=_moment(row["timestamp"]),
            moderated=row["moderated"],
            body=row["comment-body"],
        )
        for row in _rows(directory / "comments.csv")
    ]
    if (directory / "votes.csv").exists():
        votes, source = _latest_votes(directory / "votes.csv"), "votes.csv"
    elif not (directory / "participants-votes.csv").exists():
        votes, source = [], "none"
    else:
        when = {comment.comment_id: comment.created_at for comment in comments}
        votes, source = (
            list(_matrix_votes(directory / "participants-votes.csv", when)),
            ("participants-votes.csv"),
        )
    return PolisConversation(
        conversation=conversation_id(directory, summary),
        topic=summary.get("topic", "") or directory.name,
        url=summary.get("url", ""),
        description=summary.get("conversation-description", ""),
        comments=comments,
        votes=votes,
        votes_source=source,
    )


def _latest_votes(path: Path) -> list[PolisVote]:
    """One vote per voter and comment: the latest by timestamp (file order breaks ties)."""
    latest: dict[tuple[str, str], tuple[int, int, PolisVote]] = {}
    for line, row in enumerate(_rows(path)):
        stamp = int(row["timestamp"])
        key = (row["comment-id"], row["voter-id"])
        vote = PolisVote(key[0], key[1], int(row["vote"]), _moment(row["timestamp"]))
        if key not in latest or (stamp, line) >= latest[key][:2]:
            latest[key] = (stamp, line, vote)
    return [entry[2] for entry in latest.values()]


def _matrix_votes(path: Path, when: dict[str, datetime]) -> Iterator[PolisVote]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        first = header.index("n-disagree") + 1
        comment_ids = header[first:]
        for row in reader:
            for comment_id, cell in zip(comment_ids, row[first:], strict=False):
                if cell != "" and comment_id in when:
                    yield PolisVote(comment_id, row[0], int(float(cell)), when[comment_id])


# --- Import ------------------------------------------------------------------


def _title(body: str) -> str:
    line = " ".join(body.split())
    if len(line) <= TITLE_LENGTH:
        return line or "—"
    return line[: TITLE_LENGTH - 1].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"


def _participants(conversation: str, jam: Jam, ids: Iterable[str]) -> dict[str, int]:
    """User id per Pol.is participant id; creates the accounts and memberships it lacks."""
    wanted = {pid: f"polis-{conversation}-{pid}@{IMPORT_DOMAIN}".lower() for pid in ids}
    existing = dict(User.objects.filter(email__in=wanted.values()).values_list("email", "id"))
    unusable = make_password(None)
    User.objects.bulk_create(
        [
            User(email=email, name=f"Pol.is {conversation} #{pid}", password=unusable)
            for pid, email in wanted.items()
            if email not in existing
        ],
        batch_size=BATCH,
    )
    user_of_email = dict(User.objects.filter(email__in=wanted.values()).values_list("email", "id"))
    users = {pid: user_of_email[email] for pid, email in wanted.items()}
    PolisParticipant.objects.bulk_create(
        [
            PolisParticipant(user_id=user_id, conversation=conversation, participant_id=pid)
            for pid, user_id in users.items()
        ],
        batch_size=BATCH,
        ignore_conflicts=True,
    )
    Membership.objects.bulk_create(
        [Membership(jam=jam, user_id=user_id, role=Role.PARTICIPANT) for user_id in users.values()],
        batch_size=BATCH,
        ignore_conflicts=True,
    )
    return users


def _scores(texts: Sequence[str]) -> list[tuple[str, float | None]]:
    """Language and sentiment per text, as ideas.scoring does one post at a time."""
    languages = [detect_language(text) for text in texts]
    sentiments = score_sentiments(texts, languages=languages)
    scored: list[tuple[str, float | None]] = []
    for language, sentiment in zip(languages, sentiments, strict=True):
        if sentiment is not None:
            scored.append((language or "en", max(-1.0, min(1.0, float(sentiment)))))
        else:
            scored.append((language or "", None))
    return scored


def polis_import(
    *, directory: Path, jam: Jam, actor: User | None = None, topic_title: str = ""
) -> ImportResult:
    """Import one Pol.is conversation into ``jam`` (see the module docstring)."""
    started = time.perf_counter()
    data = read_conversation(directory)
    if PolisImport.objects.filter(jam=jam, conversation=data.conversation).exists():
        raise Invalid(f"Conversation {data.conversation} is already imported into {jam.slug}.")
    comments = [c for c in data.comments if c.body.strip()]
    known = {c.comment_id for c in comments}
    votes = [v for v in data.votes if v.comment_id in known and v.vote in VALUE_OF_VOTE]
    now = timezone.now()
    with transaction.atomic():
        title = (topic_title or data.topic)[:200]
        topic = Topic.objects.filter(jam=jam, title=title).first() or Topic.objects.create(
            jam=jam, title=title, description=data.description, position=jam.topics.count()
        )
        users = _participants(
            data.conversation,
            jam,
            sorted({c.author_id for c in comments} | {v.voter_id for v in votes}, key=_id_key),
        )
        hidden = {c.comment_id for c in comments if c.moderated == REJECTED}
        ideas = Idea.objects.bulk_create(
            [
                Idea(
                    jam=jam, topic=topic, author_id=users[c.author_id], title=_title(c.body),
                    created_at=c.created_at, last_activity_at=c.created_at,
                    hidden_at=now if c.comment_id in hidden else None, external_id=c.comment_id,
                )
                for c in comments
            ],
            batch_size=BATCH,
        )  # fmt: skip
        counts = Counter((v.comment_id, v.vote) for v in votes)
        scores = _scores([c.body for c in comments])
        posts = Post.objects.bulk_create(
            [
                Post(
                    jam=jam, topic=topic, idea=idea, author_id=users[c.author_id], body=c.body,
                    body_html=markdown_render(c.body), created_at=c.created_at,
                    hidden_at=idea.hidden_at,
                    hidden_reason=HIDDEN_REASON if idea.hidden_at else "",
                    agree_count=counts[(c.comment_id, 1)],
                    disagree_count=counts[(c.comment_id, -1)],
                    pass_count=counts[(c.comment_id, 0)],
                    language=language, sentiment=sentiment, external_id=c.comment_id,
                )
                for c, idea, (language, sentiment) in zip(comments, ideas, scores, strict=True)
            ],
            batch_size=BATCH,
        )  # fmt: skip
        post_of = {post.external_id: post.pk for post in posts}
        Reaction.objects.bulk_create(
            (
                Reaction(
                    post_id=post_of[v.comment_id], user_id=users[v.voter_id],
                    value=VALUE_OF_VOTE[v.vote], created_at=v.at, updated_at=v.at,
                )
                for v in votes
            ),
            batch_size=BATCH,
        )  # fmt: skip
        PolisImport.objects.create(
            jam=jam,
            topic=topic,
            conversation=data.conversation,
            url=data.url,
            description=data.description,
            counts={
                "comments": len(comments),
                "hidden": len(hidden),
                "participants": len(users),
                "votes": len(votes),
                "votes_source": data.votes_source,
            },
        )
        audit_append(
            jam=jam,
            actor=actor,
            action="polis.imported",
            target=f"{data.conversation} -> {topic.title}",
            data={"directory": directory.name, "comments": len(comments), "votes": len(votes)},
        )
    return ImportResult(
        conversation=data.conversation,
        topic=topic,
        ideas=len(ideas),
        hidden=len(hidden),
        participants=len(users),
        reactions=len(votes),
        votes_source=data.votes_source,
        seconds=time.perf_counter() - started,
    )


def _id_key(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() else (1 << 62, value)


# --- Export ------------------------------------------------------------------


def _external_ids(items: list[tuple[int, str]]) -> dict[int, str]:
    """Keep imported ids when they are unique; number the rest after the largest."""
    kept = Counter(external for _, external in items if external)
    usable = all(n == 1 for n in kept.values())
    ids: dict[int, str] = {}
    if usable:
        ids = {pk: external for pk, external in items if external}
    taken = {int(value) for value in ids.values() if value.isdigit()}
    following = max(taken, default=-1) + 1
    for pk, _external in items:
        if pk not in ids:
            while following in taken:
                following += 1
            ids[pk] = str(following)
            following += 1
    return ids


def _polis_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%a %b %d %H:%M:%S UTC %Y")


def _ms(moment: datetime) -> str:
    return str(round(moment.timestamp() * 1000))


def polis_export(*, jam: Jam, directory: Path, actor: User | None = None) -> dict[str, Any]:
    """Write the jam as a Pol.is conversation: every post is a comment, every reaction a
    vote; ``group-id`` is the person's opinion group in the latest done analysis."""
    directory.mkdir(parents=True, exist_ok=True)
    posts = list(
        Post.objects.filter(jam=jam)
        .order_by("created_at", "id")
        .values_list("id", "external_id", "author_id", "created_at", "hidden_at", "body")
    )
    reactions = list(
        Reaction.objects.filter(post__jam=jam)
        .order_by("updated_at", "id")
        .values_list("post_id", "user_id", "value", "updated_at")
    )
    imports = list(PolisImport.objects.filter(jam=jam))
    comment_of = _external_ids([(pk, external) for pk, external, *_ in posts])
    people = sorted({author for _, _, author, *_ in posts if author} | {r[1] for r in reactions})
    imported_ids: dict[int, str] = {}
    if len(imports) == 1:
        imported_ids = dict(
            PolisParticipant.objects.filter(
                user_id__in=people, conversation=imports[0].conversation
            ).values_list("user_id", "participant_id")
        )
    participant_of = _external_ids([(pk, imported_ids.get(pk, "")) for pk in people])
    comment_order = sorted(comment_of.values(), key=_id_key)
    agree: Counter[str] = Counter()
    disagree: Counter[str] = Counter()
    matrix: dict[str, dict[str, str]] = {participant_of[pk]: {} for pk in people}
    with (directory / "votes.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "datetime", "comment-id", "voter-id", "vote"])
        for post_id, user_id, value, at in reactions:
            comment, voter = comment_of[post_id], participant_of[user_id]
            vote = VOTE_OF_VALUE[ReactionValue(value)]
            writer.writerow([_ms(at), _polis_datetime(at), comment, voter, vote])
            matrix[voter][comment] = str(vote)
            agree[comment] += vote == 1
            disagree[comment] += vote == -1
    with (directory / "comments.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["timestamp", "datetime", "comment-id", "author-id", "agrees", "disagrees",
             "moderated", "comment-body"]
        )  # fmt: skip
        for pk, _external, author, created, hidden_at, body in posts:
            comment = comment_of[pk]
            writer.writerow([
                _ms(created), _polis_datetime(created), comment,
                participant_of[author] if author else "", agree[comment], disagree[comment],
                REJECTED if hidden_at else "1", body,
            ])  # fmt: skip
    group_of = _groups(jam)
    authored = Counter(participant_of[a] for _, _, a, *_ in posts if a)
    with (directory / "participants-votes.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["participant", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree",
             *comment_order]
        )  # fmt: skip
        for pk in sorted(people, key=lambda p: _id_key(participant_of[p])):
            pid = participant_of[pk]
            cells = matrix[pid]
            writer.writerow([
                pid, group_of.get(pk, ""), authored[pid], len(cells),
                sum(v == "1" for v in cells.values()), sum(v == "-1" for v in cells.values()),
                *(cells.get(c, "") for c in comment_order),
            ])  # fmt: skip
    only = imports[0] if len(imports) == 1 else None
    summary = [
        ("topic", only.topic.title if only else jam.title),
        ("url", only.url if only else jam.get_absolute_url()),
        ("views", len(people)),
        ("voters", len(matrix) - sum(1 for cells in matrix.values() if not cells)),
        ("voters-in-conv", len(people)),
        ("commenters", len(authored)),
        ("comments", len(posts)),
        ("groups", len(set(group_of.values()))),
        ("conversation-description", only.description if only else jam.description),
    ]
    with (directory / "summary.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(summary)
    audit_append(
        jam=jam,
        actor=actor,
        action="polis.exported",
        target=jam.slug,
        data={"comments": len(posts), "votes": len(reactions)},
    )
    return {"comments": len(posts), "votes": len(reactions), "participants": len(people)}


def _groups(jam: Jam) -> dict[int, int]:
    run = run_latest_done(jam=jam)
    if run is None:
        return {}
    return dict(GroupMember.objects.filter(run=run).values_list("user_id", "group__number"))
