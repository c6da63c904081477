"""A small generated jam for the analysis tests: real comment texts, two opinion camps."""

from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta
from pathlib import Path

from ideas.models import Idea, Post, Reaction, ReactionValue
from ideas.scoring import text_score
from jams.models import Jam, Role, Topic
from tests.factories import TopicFactory, member

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "polis"


def mix_texts(limit: int | None = None) -> list[tuple[str, str]]:
    """(text, conversation) from the committed comment mix, in file order."""
    with (FIXTURES / "comments_mix.csv").open(newline="", encoding="utf-8") as handle:
        rows = [(row["comment-body"], row["conversation"]) for row in csv.DictReader(handle)]
    return rows[:limit] if limit else rows


def posts_add(
    jam: Jam, topic: Topic, texts: list[str], *, start: datetime, authors: int = 8
) -> list[Post]:
    """One idea with its opening post per text, a minute apart, scored as services do."""
    people = [member(jam, Role.PARTICIPANT) for _ in range(authors)]
    posts = []
    for i, text in enumerate(texts):
        at = start + timedelta(minutes=i)
        author = people[i % len(people)]
        idea = Idea.objects.create(
            jam=jam, topic=topic, author=author, title=text[:60], created_at=at, last_activity_at=at
        )
        score = text_score(text)
        posts.append(
            Post.objects.create(
                jam=jam, topic=topic, idea=idea, author=author, body=text, body_html=text,
                created_at=at, language=score.language, sentiment=score.sentiment,
            )
        )  # fmt: skip
    return posts


def camps_react(jam: Jam, statements: list[Post], *, people: int = 24, seed: int = 0) -> None:
    """Two camps: one agrees with the first half of ``statements`` and disagrees with the
    rest, the other the opposite; one vote in ten is flipped to a pass."""
    rng = random.Random(seed)
    half = len(statements) // 2
    reactions = []
    for person in range(people):
        user = member(jam, Role.PARTICIPANT)
        camp = person % 2
        for j, post in enumerate(statements):
            agree = (j < half) != bool(camp)
            value = ReactionValue.AGREE if agree else ReactionValue.DISAGREE
            if rng.random() < 0.1:
                value = ReactionValue.PASS
            reactions.append(Reaction(post=post, user=user, value=value))
    Reaction.objects.bulk_create(reactions)


def small_jam(jam: Jam, *, n_posts: int = 120, start: datetime) -> list[Post]:
    topic = TopicFactory(jam=jam)
    texts = [text for text, _ in mix_texts()[::3]][:n_posts]
    posts = posts_add(jam, topic, texts, start=start)
    camps_react(jam, posts[:16])
    return posts
