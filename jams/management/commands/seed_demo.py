"""Create (or recreate) the demo jam with its people, topics and discussion."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from jams import services
from jams.models import Jam, Phase, Role, Visibility
from jams.phases import PhaseKind

DEFAULT_PASSWORD = "jam-demo-2026"  # noqa: S105 - printed demo credentials

PEOPLE = [
    ("organizer@example.com", "Olivia Organizer", Role.ORGANIZER),
    ("facilitator@example.com", "Felix Facilitator", Role.FACILITATOR),
    ("alice@example.com", "Alice Andersen", Role.PARTICIPANT),
    ("bob@example.com", "Bob Brown", Role.PARTICIPANT),
    ("executive@example.com", "Erin Executive", Role.EXECUTIVE),
]

TOPICS = [
    (
        "Sustainable cities",
        "How can cities cut emissions, heat and traffic while staying affordable?",
    ),
    (
        "Future of health care",
        "Prevention, remote care and data: what should health systems build next?",
    ),
    (
        "Learning for life",
        "How do people keep learning through careers that change every few years?",
    ),
    (
        "Trustworthy AI",
        "What would make AI systems ones that people and regulators can trust?",
    ),
]

IDEAS = [
    (
        0,
        "Car-free city centres on weekends",
        "Close the historic centre to private cars every weekend and run free shuttles. "
        "Shops in pilot cities saw *more* visitors, not fewer.",
    ),
    (
        0,
        "Cool roofs for every public building",
        "Paint public roofs white or plant them. Cheap, fast, and it lowers indoor "
        "temperatures by several degrees during heat waves.",
    ),
    (
        0,
        "Open data on bus punctuality",
        "Publish live and historic punctuality for every line so people can hold the "
        "operator to account.",
    ),
    (
        1,
        "Remote monitoring for chronic patients",
        "Home devices for blood pressure and glucose that alert a nurse, so people "
        "with chronic illness visit hospital less often.",
    ),
    (
        1,
        "A single patient record across providers",
        "Patients are tired of repeating their history. One record, owned by the "
        "patient, shared with consent.",
    ),
    (
        2,
        "Learning accounts for every worker",
        "A personal budget for courses that follows you from employer to employer.",
    ),
    (
        2,
        "Mentoring circles across generations",
        "Pair people at the start of their careers with people near retirement; both sides learn.",
    ),
    (
        3,
        "Explain every automated decision",
        "Anyone affected by an automated decision gets a plain-language explanation "
        "and a way to appeal to a person.",
    ),
    (
        3,
        "Public registry of AI systems in government",
        "List every AI system a public body uses, what it decides and who audits it.",
    ),
]

REPLIES = [
    "Great idea, we tried this in our district and people loved it.",
    "I worry this is too expensive for smaller towns. Who pays?",
    "Strongly agree. @alice what did your team find in the pilot?",
    "This would be a disaster for delivery drivers unless there are exceptions.",
    "Could we start with a small pilot and measure the results first?",
    "The evidence from other countries is encouraging, but the details matter.",
]


class Command(BaseCommand):
    help = "Create or recreate the demo jam (slug 'demo') and its demo accounts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default=DEFAULT_PASSWORD)
        parser.add_argument(
            "--phase", choices=["discussion", "voting", "results"], default="discussion"
        )
        parser.add_argument(
            "--keep",
            action="store_true",
            help="Leave an existing demo jam as it is (used by `make run`).",
        )
        parser.add_argument(
            "--participants",
            type=int,
            default=0,
            help="Also create participant1..N@example.com as members (for load tests).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password: str = options["password"]
        if options["keep"] and Jam.objects.filter(slug="demo").exists():
            self.stdout.write(
                "Demo jam 'demo' exists; keeping it (seed_demo without --keep resets it)."
            )
            self._accounts(password)
            return
        with transaction.atomic():
            people = {email: _person(email, name, password) for email, name, _ in PEOPLE}
            organizer = people["organizer@example.com"]
            organizer.user_permissions.add(
                Permission.objects.get(codename="create_jam", content_type__app_label="jams")
            )
            Jam.objects.filter(slug="demo").delete()
            jam = services.jam_create(
                actor=organizer,
                title="Innovation Jam 2026",
                slug="demo",
                description=(
                    "Three days to rethink how we live, heal, learn and build trustworthy "
                    "technology. Share ideas, react to others' and help shape what we fund."
                ),
                visibility=Visibility.MEMBERS,
                time_zone="Europe/Berlin",
            )
            for email, _name, role in PEOPLE:
                if role != Role.ORGANIZER:
                    services._membership_add(jam=jam, user=people[email], role=role, how="seeded")
            extra = [
                _person(f"participant{i}@example.com", f"Participant {i}", password)
                for i in range(1, options["participants"] + 1)
            ]
            for user in extra:
                services._membership_add(jam=jam, user=user, role=Role.PARTICIPANT, how="seeded")
            now = timezone.now()
            start = now - timedelta(hours=30)
            _schedule(jam, options["phase"], now)
            topics = [
                services.topic_create(
                    actor=organizer,
                    jam=jam,
                    title=title,
                    description=description,
                    facilitator_ids=[people["facilitator@example.com"].pk],
                )
                for title, description in TOPICS
            ]
            _discussion(jam, topics, list(people.values()), start, options["phase"], now)
            from voting.demo import voting_demo_seed

            voting_demo_seed(
                jam, phase=options["phase"], people=list(people.values()), password=password
            )
            from analysis.demo import analysis_demo_seed

            analysis_demo_seed(jam, phase=options["phase"], password=password)
        self.stdout.write(
            self.style.SUCCESS(f"Demo jam 'demo' ready in the {options['phase']} phase.")
        )
        self._accounts(password)
        if extra:
            self.stdout.write(f"  participant1..{len(extra)}@example.com  password: {password}")

    def _accounts(self, password: str) -> None:
        self.stdout.write(f"Sign in at {settings.JAM_SITE_URL.rstrip('/')}/accounts/login/ as:")
        for email, _name, role in PEOPLE:
            self.stdout.write(f"  {email:28} ({role})  password: {password}")


def _person(email: str, name: str, password: str) -> User:
    from allauth.account.models import EmailAddress

    user, _ = User.objects.get_or_create(email=email, defaults={"name": name})
    user.name = name
    user.set_password(password)
    user.save()
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


def _schedule(jam: Jam, phase: str, now: datetime) -> None:
    """Discussion 72 h, curation 12 h, voting 24 h, results; placed so the
    requested phase is the current one. Written directly: this is seed data,
    not an organizer action."""
    hour = timedelta(hours=1)
    if phase == "discussion":
        discussion_start = now - 30 * hour
    elif phase == "voting":
        discussion_start = now - (72 + 12 + 2) * hour
    else:
        discussion_start = now - (72 + 12 + 24 + 2) * hour
    windows = [
        (PhaseKind.DISCUSSION, discussion_start, discussion_start + 72 * hour),
        (PhaseKind.CURATION, discussion_start + 72 * hour, discussion_start + 84 * hour),
        (PhaseKind.VOTING, discussion_start + 84 * hour, discussion_start + 108 * hour),
        (PhaseKind.RESULTS, discussion_start + 108 * hour, discussion_start + 180 * hour),
    ]
    Phase.objects.bulk_create(
        Phase(jam=jam, kind=kind.value, starts_at=starts, ends_at=ends)
        for kind, starts, ends in windows
    )


def _discussion(
    jam: Jam,
    topics: list[Any],
    people: list[User],
    start: datetime,
    phase: str,
    now: datetime,
) -> None:
    from ideas.models import Post
    from ideas.services import idea_create, reaction_set, reply_create

    discussion = jam.phases.get(kind=PhaseKind.DISCUSSION)
    rng = random.Random(2026)  # noqa: S311 - demo content, not security
    at = discussion.starts_at + timedelta(minutes=30)
    step = (min(discussion.ends_at, now) - at) / (len(IDEAS) * 3)
    authors = [p for p in people if p.email != "executive@example.com"]
    for n, (topic_index, title, body) in enumerate(IDEAS):
        author = authors[n % len(authors)]
        written = idea_create(
            actor=author, topic=topics[topic_index], title=title, body=body, now=at
        )
        at += step
        opening = Post.objects.select_related("idea", "jam").get(pk=written.id)
        for r in range(rng.randint(1, 3)):
            replier = authors[(n + r + 1) % len(authors)]
            reply_create(actor=replier, idea=opening.idea, body=rng.choice(REPLIES), now=at)
            at += step / 3
        for person in people:
            value = rng.choice(["agree", "agree", "disagree", "pass"])
            reaction_set(actor=person, post=opening, value=value, now=at)
