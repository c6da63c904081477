"""Demo data for the outcome report, called at the end of ``manage.py seed_demo``.

``--phase results`` only: 40 more participants (demo1..40@example.com) write a few
replies and react to every idea's opening post along three camps, so that the
analysis finds two or three opinion groups, bridging ideas (every camp
agrees) and divisive ones; an alert is placed in the discussion; then the
analysis runs (``analysis.services.analysis_run``). Written directly where a
service would refuse (the discussion is over): this is seed data.
"""

from __future__ import annotations

import random
from datetime import datetime

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.db.models import Count, Q

from accounts.models import User
from ideas.models import Post, Reaction, ReactionValue
from ideas.scoring import text_score
from jams import realtime
from jams.models import Alert, Event, Jam, Membership, Role
from jams.phases import PhaseKind

from .services import analysis_run

PEOPLE = 40
# Stance of each camp on each demo idea's opening post, in seed order
# (seed_demo.IDEAS): +1 agrees, -1 disagrees, 0 undecided.
CAMPS = [
    # the urbanists: cars out, open data, wary of central health records
    (16, [+1, +1, +1, 0, -1, 0, +1, +1, 0]),
    # the cost-conscious: against car bans and AI registries, for practical services
    (14, [-1, +1, 0, +1, +1, +1, +1, +1, -1]),
    # the privacy-minded: against monitoring and shared records, for AI oversight
    (10, [0, +1, 0, -1, -1, 0, +1, +1, +1]),
]
# (agree, disagree) probabilities per stance; the rest are passes.
CHANCES = {+1: (0.9, 0.05), -1: (0.06, 0.9), 0: (0.2, 0.15)}

REPLIES = [
    [
        "Weekend closures worked in our town: quieter streets, more people in cafes and shops.",
        "Traffic just moves to the ring road. Residents there pay for the quiet centre.",
        "Shade trees and white roofs together would cut the heat on our street by a lot.",
        "Live punctuality data would show which bus lines need more drivers.",
    ],
    [
        "Home blood pressure monitors saved my father several hospital visits last winter.",
        "Who sees my health data? A single record is a single target for hackers.",
        "Nurses are already overloaded; remote alerts must come with more staff.",
        "Consent per provider, revocable at any time, would make a shared record acceptable.",
    ],
    [
        "A learning budget that moves with me would finally let me retrain as a nurse.",
        "Mentoring across generations helped our apprentices and our senior staff alike.",
        "Courses are useless without time off to take them. Employers must give hours.",
    ],
    [
        "Every refused loan or benefit decided by software deserves a human who can explain it.",
        "A public registry of government algorithms is the minimum for democratic oversight.",
        "Registries become paperwork nobody reads. Fund independent auditors instead.",
    ],
]


def analysis_demo_seed(jam: Jam, *, phase: str, password: str) -> None:
    if phase != "results":
        return
    discussion = jam.phases.get(kind=PhaseKind.DISCUSSION)
    people = _people(jam, password)
    openings = list(Post.objects.filter(jam=jam, parent__isnull=True).order_by("created_at", "id"))
    _replies(jam, openings, people, discussion.starts_at, discussion.ends_at)
    _reactions(openings, people, discussion.starts_at, discussion.ends_at)
    _alert(jam, discussion.starts_at + (discussion.ends_at - discussion.starts_at) / 2)
    analysis_run(jam=jam)


def _people(jam: Jam, password: str) -> list[User]:
    """Created in bulk with one password hash (hashing 40 times would take seconds);
    kept across re-seeding, like the other demo accounts."""
    emails = [f"demo{i}@example.com" for i in range(1, PEOPLE + 1)]
    existing = {user.email: user for user in User.objects.filter(email__in=emails)}
    hashed = make_password(password)
    created = User.objects.bulk_create(
        User(email=email, name=f"Demo Person {i}", password=hashed)
        for i, email in enumerate(emails, 1)
        if email not in existing
    )
    EmailAddress.objects.bulk_create(
        EmailAddress(user=user, email=user.email, verified=True, primary=True) for user in created
    )
    existing.update({user.email: user for user in created})
    users = [existing[email] for email in emails]
    Membership.objects.bulk_create(
        Membership(jam=jam, user=user, role=Role.PARTICIPANT) for user in users
    )
    return users


def _replies(
    jam: Jam, openings: list[Post], people: list[User], start: datetime, end: datetime
) -> None:
    rng = random.Random(7)  # noqa: S311 - demo content, not security
    span = end - start
    replies = []
    for n, opening in enumerate(openings):
        topic_texts = REPLIES[min(_topic_index(opening, openings), len(REPLIES) - 1)]
        for r in range(2):
            text = topic_texts[(n + r) % len(topic_texts)]
            score = text_score(text)
            # Worried replies come late in the discussion: the timeline shows a tone shift.
            late = score.sentiment is not None and score.sentiment < 0
            at = start + span * (rng.uniform(0.75, 0.98) if late else rng.uniform(0.05, 0.7))
            replies.append(
                Post(
                    jam=jam,
                    topic_id=opening.topic_id,
                    idea_id=opening.idea_id,
                    parent=opening,
                    author=people[(3 * n + r) % len(people)],
                    body=text,
                    body_html=f"<p>{text}</p>",
                    depth=1,
                    created_at=at,
                    language=score.language,
                    sentiment=score.sentiment,
                )
            )
    Post.objects.bulk_create(replies)


def _topic_index(post: Post, openings: list[Post]) -> int:
    order = list(dict.fromkeys(p.topic_id for p in openings))
    return order.index(post.topic_id)


def _reactions(openings: list[Post], people: list[User], start: datetime, end: datetime) -> None:
    rng = random.Random(11)  # noqa: S311 - demo content, not security
    camp_of: list[list[int]] = []
    for size, stances in CAMPS:
        camp_of += [stances] * size
    reactions = []
    for person, stances in zip(people, camp_of, strict=False):
        for i, post in enumerate(openings):
            stance = stances[i % len(stances)]
            agree, disagree = CHANCES[stance]
            draw = rng.random()
            if draw < agree:
                value = ReactionValue.AGREE
            elif draw < agree + disagree:
                value = ReactionValue.DISAGREE
            elif draw < 0.97:
                value = ReactionValue.PASS
            else:
                continue  # not everyone reacts to everything
            at = max(post.created_at, start) + (end - max(post.created_at, start)) * rng.random()
            reactions.append(
                Reaction(post=post, user=person, value=value, created_at=at, updated_at=at)
            )
    Reaction.objects.bulk_create(reactions)
    counts = (
        Reaction.objects.filter(post__in=openings)
        .order_by()
        .values_list("post_id")
        .annotate(
            agree=Count("id", filter=Q(value=ReactionValue.AGREE)),
            disagree=Count("id", filter=Q(value=ReactionValue.DISAGREE)),
            passed=Count("id", filter=Q(value=ReactionValue.PASS)),
        )
    )
    for post_id, agree, disagree, passed in counts:
        Post.objects.filter(pk=post_id).update(
            agree_count=agree, disagree_count=disagree, pass_count=passed
        )


def _alert(jam: Jam, at: datetime) -> None:
    author = Membership.objects.filter(jam=jam, role=Role.ORGANIZER).first()
    text = "Halfway through: thank you! Please react to the ideas you have not seen yet."
    alert = Alert.objects.create(jam=jam, author=author.user if author else None, text=text)
    event = realtime.event_record(
        jam_id=jam.pk,
        name="alert",
        data={"id": alert.pk, "text": text, "author": "", "created_at": at},
    )
    Alert.objects.filter(pk=alert.pk).update(created_at=at)
    Event.objects.filter(jam=jam, seq=event.seq).update(created_at=at)
