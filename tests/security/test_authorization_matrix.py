"""The permission matrix through the real doors: every role x stage x action
over HTTP (the real URLs, middleware and views, via Django's test client) and
over the socket (the real ASGI router: origin check, session auth, consumer).

The expected outcome of every cell comes from one place, ``jams.rules.decide``
over ``POLICY`` (the table docs/security.md shows, generated from the code).
tests/jams/test_rules.py checks that table against an independent one; this
module checks that the pages and the socket actually enforce it.

The six jams (one per stage) and their members are built once per module,
committed, and flushed at the end. Each HTTP request runs in a savepoint that
is rolled back, so an allowed write (a phase change, a vote) never changes the
next cell's world.

Cross-jam cases: the "non_member" role is a member of another jam (A); it
gets 404 / a refused handshake on every jam here. Further down, a member of
A uses A's own slug and A's own socket with B's object ids (topic, idea,
post, round): every one is ``not_found`` / 404, and no event of B reaches A.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.db import transaction
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone

from accounts.models import User
from community.models import HostedSession
from community.services import session_schedule
from ideas.models import Idea, Post
from jams.errors import DomainError, Forbidden, LoginRequired, MfaRequired, NotFound, PhaseClosed
from jams.models import Jam, Role, Topic
from jams.phases import Stage
from jams.rules import POLICY, Action, Outsider, Subject, decide
from jamsite.asgi import application
from tests.factories import TopicFactory, idea_in, jam_in_stage, member, round_with_ballot
from voting.models import VotingRound

ORIGIN = "http://127.0.0.1:8000"
WAIT = 3.0

ROLES: list[Subject] = [Outsider.ANONYMOUS, Outsider.NON_MEMBER, *Role]
STAGES = list(Stage)

# What each decision looks like at the door.
HTTP_OUTCOME: dict[type[DomainError] | None, str] = {
    None: "ok",
    NotFound: "not_found",
    LoginRequired: "login_required",
    Forbidden: "forbidden",
    PhaseClosed: "refused",  # a 400 page for a GET, the form sent back with an error for a POST
    MfaRequired: "mfa_required",
}

# Known, deliberate differences between the table and a door, with the reason.
# (role, action) -> outcome at the HTTP door.
DEVIATIONS: dict[tuple[Subject, Action], str] = {
    # Joining a jam you already belong to is idempotent: it takes you home.
    **{(role, Action.JOIN): "ok" for role in Role},
}


@dataclass
class StageWorld:
    jam: Jam
    topic: Topic
    idea: Idea
    post: Post
    round: VotingRound
    session: HostedSession
    users: dict[Subject, User | None] = field(default_factory=dict)


@dataclass
class World:
    stages: dict[Stage, StageWorld]
    home: Jam  # jam A, where the outsider is a member
    home_topic: Topic
    home_idea: Idea
    outsider: User


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """Committed (visible to the consumer's threads), flushed at the end."""
    with django_db_blocker.unblock():
        home = jam_in_stage(Stage.DISCUSSION, title="Home jam")
        home_topic = TopicFactory(jam=home)
        home_idea = idea_in(home, topic=home_topic, title="Home idea")
        outsider = member(home, Role.PARTICIPANT)
        stages = {}
        for stage in STAGES:
            jam = jam_in_stage(stage, title=f"Jam in {stage}")
            topic = TopicFactory(jam=jam)
            idea = idea_in(jam, topic=topic, title=f"Idea in {stage}")
            post = Post.objects.get(idea=idea, parent=None)
            voting_round = round_with_ballot(jam, [idea], method="approval")
            users: dict[Subject, User | None] = {
                Outsider.ANONYMOUS: None,
                Outsider.NON_MEMBER: outsider,
            }
            for role in Role:
                users[role] = member(jam, role)
            now = timezone.now()
            session = session_schedule(
                actor=users[Role.ORGANIZER],  # type: ignore[arg-type]
                jam=jam,
                topic=topic,
                title="Ask the board",
                description="",
                host=users[Role.FACILITATOR],  # type: ignore[arg-type]
                guest="",
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(hours=1),
            )
            stages[stage] = StageWorld(jam, topic, idea, post, voting_round, session, users)
        try:
            yield World(stages, home, home_topic, home_idea, outsider)
        finally:
            call_command("flush", interactive=False, verbosity=0)


# --- HTTP ------------------------------------------------------------------------


@dataclass(frozen=True)
class Door:
    method: str
    path: str
    data: dict[str, str] = field(default_factory=dict)


def doors(w: StageWorld, stage: Stage) -> dict[Action, Door | None]:
    """One representative request per action (None: no HTTP door)."""
    slug = f"/jams/{w.jam.slug}"
    results_phase = max(w.jam.phases.all(), key=lambda p: p.starts_at)
    return {
        Action.VIEW_JAM: Door("GET", f"{slug}/"),
        Action.JOIN: Door("POST", f"{slug}/join/"),
        Action.READ: Door("GET", f"{slug}/topics/{w.topic.pk}/"),
        Action.MANAGE_JAM: Door("GET", f"{slug}/console/"),
        Action.CHANGE_PHASE: Door(
            "POST",
            f"{slug}/console/transition/",
            {"transition": "extend", "phase": str(results_phase.pk), "minutes": "1"},
        ),
        Action.PUBLISH_RESULTS: Door(
            "POST",
            f"{slug}/console/transition/",
            {"transition": "unpublish" if stage is Stage.PUBLISHED else "publish"},
        ),
        Action.MANAGE_MEMBERS: Door("GET", f"{slug}/members/"),
        Action.VIEW_AUDIT: Door("GET", f"{slug}/console/"),  # the audit log lives there
        Action.POST: Door(
            "POST", f"{slug}/topics/{w.topic.pk}/", {"title": "A new idea", "body": "Details."}
        ),
        Action.REACT: Door("POST", f"{slug}/posts/{w.post.pk}/react/", {"value": "agree"}),
        Action.FLAG: Door("POST", f"{slug}/posts/{w.post.pk}/flag/", {"reason": "spam"}),
        Action.MODERATE: Door("GET", f"{slug}/moderation/"),
        Action.ALERT: Door("POST", f"{slug}/alerts/", {"text": "Ten minutes left"}),
        Action.MANAGE_BALLOT: Door(
            "POST",
            f"{slug}/voting/",
            {
                "title": "Final round",
                "method": "approval",
                "max_approvals": "3",
                "points": "10",
                "results_visibility": "after_close",
            },
        ),
        Action.VOTE: Door(
            "POST", f"{slug}/voting/rounds/{w.round.pk}/", {f"idea_{w.idea.pk}": "on"}
        ),
        Action.RUN_ANALYSIS: Door("POST", f"{slug}/analysis/run/"),
        Action.VIEW_PULSE: Door("GET", f"{slug}/pulse/"),
        Action.READ_REPORT: Door("GET", f"{slug}/report/"),
        Action.EXPORT_REPORT: Door("GET", f"{slug}/report/download/csv/"),
        Action.VIEW_WALL: Door("GET", f"{slug}/wall/"),
        Action.HELP_RADAR: Door("GET", f"{slug}/help/radar/"),
        Action.MANAGE_GUIDELINES: Door("GET", f"{slug}/guidelines/edit/"),
        Action.VIEW_DIRECTORY: Door("GET", f"{slug}/people/"),
        Action.MANAGE_SESSIONS: Door(
            "POST",
            f"{slug}/sessions/",
            {
                "title": "Meet the CTO",
                "topic": str(w.topic.pk),
                "host": str(w.users[Role.FACILITATOR].pk),  # type: ignore[union-attr]
                "starts_at": "2030-01-01T10:00",
                "ends_at": "2030-01-01T11:00",
            },
        ),
        Action.ASK_SESSION_QUESTION: Door(
            "POST", f"{slug}/sessions/{w.session.pk}/", {"body": "What is the budget?"}
        ),
    }


def request(client: Client, door: Door) -> HttpResponse:
    """One request in a savepoint that is rolled back: an allowed write
    leaves the world as it was for the next cell."""
    client.cookies.pop("messages", None)  # only this request's messages count
    with transaction.atomic():
        if door.method == "GET":
            response = client.get(door.path)
        else:
            response = client.post(door.path, door.data)
        transaction.set_rollback(True)
    return response


def observed(response: HttpResponse) -> str:
    errors = [
        str(m) for m in get_messages(response.wsgi_request) if m.level >= message_levels.ERROR
    ]
    status = response.status_code
    if status == 404:
        return "not_found"
    if status == 403:
        return "forbidden"
    if status == 400:
        return "refused"
    if status in (301, 302):
        location = response["Location"]
        if "/accounts/login/" in location:
            return "login_required"
        if "/2fa/" in location:
            return "mfa_required"
        return "refused" if errors else "ok"
    if status == 200:
        return "refused" if errors else "ok"
    return f"status {status}"


def expected(role: Subject, action: Action, stage: Stage, visibility: str) -> str:
    if (role, action) in DEVIATIONS:
        return DEVIATIONS[(role, action)]
    return HTTP_OUTCOME[decide(action, subject=role, visibility=visibility, stage=stage)]


def test_every_action_has_a_door_or_a_reason(world: World) -> None:
    w = world.stages[Stage.DISCUSSION]
    assert set(doors(w, Stage.DISCUSSION)) == set(Action) == set(POLICY)


@pytest.mark.django_db
@pytest.mark.parametrize("stage", STAGES, ids=str)
@pytest.mark.parametrize("role", ROLES, ids=str)
def test_http_matrix(world: World, role: Subject, stage: Stage) -> None:
    w = world.stages[stage]
    client = Client()
    user = w.users[role]
    if user is not None:
        client.force_login(user)
    mismatches = {}
    for action, door in doors(w, stage).items():
        if door is None:
            continue
        want = expected(role, action, stage, w.jam.visibility)
        got = observed(request(client, door))
        if want != got:
            mismatches[action.value] = f"{door.method} {door.path}: expected {want}, got {got}"
    assert mismatches == {}


# --- Socket ------------------------------------------------------------------------


@pytest.fixture
def db_access(django_db_blocker: Any) -> Iterator[None]:
    """The consumer's threads reach the committed module data; nothing here
    runs in a test transaction."""
    channel_layers.backends = {}  # each test runs in its own event loop
    with django_db_blocker.unblock():
        yield
    channel_layers.backends = {}


def _cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def socket_open(user: User | None, jam: Jam) -> tuple[WebsocketCommunicator, bool]:
    headers = [(b"origin", ORIGIN.encode())]
    if user is not None:
        cookie = await database_sync_to_async(_cookie)(user)
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    comm = WebsocketCommunicator(application, f"/ws/jams/{jam.slug}/", headers=headers)
    connected, _ = await comm.connect()
    return comm, connected


async def answer(
    comm: WebsocketCommunicator, message: dict[str, Any], events: list[Any] | None = None
) -> dict[str, Any]:
    """Send one message; its answer (events go to ``events``)."""
    await comm.send_to(text_data=json.dumps(message))
    while True:
        reply = json.loads(await comm.receive_from(timeout=WAIT))
        if reply["type"] != "event":
            return reply
        if events is not None:
            events.append(reply)


def socket_messages(w: StageWorld) -> dict[Action, dict[str, Any]]:
    """The socket's message for each action that has one."""
    return {
        Action.POST: {"type": "post", "topic": w.topic.pk, "title": "Socket idea", "body": "Hi"},
        Action.REACT: {"type": "react", "post": w.post.pk, "value": "disagree"},
        Action.ALERT: {"type": "alert", "text": "From the socket"},
        Action.VOTE: {"type": "vote", "round": w.round.pk, "choices": {str(w.idea.pk): 1}},
    }


@pytest.mark.parametrize("stage", STAGES, ids=str)
@pytest.mark.parametrize("role", ROLES, ids=str)
async def test_socket_matrix(world: World, db_access: None, role: Subject, stage: Stage) -> None:
    w = world.stages[stage]
    comm, connected = await socket_open(w.users[role], w.jam)
    try:
        read = decide(Action.READ, subject=role, visibility=w.jam.visibility, stage=stage)
        assert connected is (read is None)
        if not connected:
            return
        hello = json.loads(await comm.receive_from(timeout=WAIT))
        assert (hello["type"], hello["role"], hello["phase"]["stage"]) == ("hello", role, stage)
        assert (await answer(comm, {"type": "subscribe", "topic": w.topic.pk}))["type"] == (
            "subscribed"
        )
        assert (await answer(comm, {"type": "resume", "after": 0}))["type"] == "resumed"
        mismatches = {}
        for action, message in socket_messages(w).items():
            client_id = str(uuid.uuid4())
            reply = await answer(comm, {**message, "client_id": client_id})
            assert reply["client_id"] == client_id
            denial = decide(action, subject=role, visibility=w.jam.visibility, stage=stage)
            want = "ack" if denial is None else denial.code
            got = "ack" if reply["type"] == "ack" else reply["code"]
            if want != got:
                mismatches[action.value] = f"expected {want}, got {got}"
        assert mismatches == {}
    finally:
        with contextlib.suppress(Exception):
            await comm.disconnect()


# --- Across jams -------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("stage", STAGES, ids=str)
def test_a_member_of_jam_a_reaches_nothing_of_b_through_a(world: World, stage: Stage) -> None:
    """A's slug with B's ids (the classic IDOR): 404 for every one."""
    b = world.stages[stage]
    client = Client()
    client.force_login(world.outsider)
    a = f"/jams/{world.home.slug}"
    for door in (
        Door("GET", f"{a}/topics/{b.topic.pk}/"),
        Door("GET", f"{a}/ideas/{b.idea.pk}/"),
        Door("POST", f"{a}/ideas/{b.idea.pk}/", {"body": "A reply"}),
        Door("POST", f"{a}/posts/{b.post.pk}/react/", {"value": "agree"}),
        Door("POST", f"{a}/posts/{b.post.pk}/flag/", {"reason": "x"}),
        Door("GET", f"{a}/posts/{b.post.pk}/edit/"),
        Door("GET", f"{a}/voting/rounds/{b.round.pk}/"),
        Door("POST", f"{a}/voting/rounds/{b.round.pk}/", {f"idea_{b.idea.pk}": "on"}),
        Door("GET", f"{a}/voting/rounds/{b.round.pk}/results/"),
        Door("POST", f"{a}/ideas/{world.home_idea.pk}/merge/", {"into": str(b.idea.pk)}),
    ):
        got = observed(request(client, door))
        # Merging needs moderation rights, which the participant lacks (403)
        # before the foreign id is even looked at; every other door is 404.
        allowed = {"not_found", "forbidden"} if "merge" in door.path else {"not_found"}
        assert got in allowed, f"{door.method} {door.path}: {got}"


async def test_a_member_of_jam_a_gets_not_found_and_no_events_of_b(
    world: World, db_access: None
) -> None:
    b = world.stages[Stage.DISCUSSION]
    # B's socket refuses the handshake.
    comm, connected = await socket_open(world.outsider, b.jam)
    assert not connected
    with contextlib.suppress(Exception):
        await comm.disconnect()

    comm, connected = await socket_open(world.outsider, world.home)
    assert connected
    try:
        assert json.loads(await comm.receive_from(timeout=WAIT))["type"] == "hello"
        for message in (
            {"type": "subscribe", "topic": b.topic.pk},
            {"type": "subscribe", "idea": b.idea.pk},
            {"type": "post", "topic": b.topic.pk, "title": "Sneaky", "body": "x"},
            {"type": "post", "idea": b.idea.pk, "body": "x"},
            {"type": "post", "idea": world.home_idea.pk, "parent": b.post.pk, "body": "x"},
            {"type": "react", "post": b.post.pk, "value": "agree"},
            {"type": "vote", "round": b.round.pk, "choices": {str(b.idea.pk): 1}},
        ):
            reply = await answer(comm, {**message, "client_id": str(uuid.uuid4())})
            assert (reply["type"], reply.get("code")) == ("error", "not_found"), message
        # Something happens in B (a member posts there): nothing reaches A's socket.
        b_member = b.users[Role.PARTICIPANT]
        b_comm, ok = await socket_open(b_member, b.jam)
        assert ok
        try:
            await b_comm.receive_from(timeout=WAIT)  # hello
            ack = await answer(
                b_comm,
                {
                    "type": "post",
                    "client_id": str(uuid.uuid4()),
                    "topic": b.topic.pk,
                    "title": "Only for B",
                    "body": "B's business.",
                },
            )
            assert ack["type"] == "ack"
        finally:
            await b_comm.disconnect()
        # A resume from 0 on A's socket replays only A's events.
        events: list[dict[str, Any]] = []
        resumed = await answer(comm, {"type": "resume", "after": 0}, events)
        assert resumed["type"] == "resumed"
        assert await comm.receive_nothing(timeout=0.3)
        text = json.dumps(events)
        assert "Only for B" not in text
        assert all(e["data"].get("idea") != b.idea.pk for e in events)
        home_seq = await database_sync_to_async(
            lambda: Jam.objects.get(pk=world.home.pk).last_seq
        )()
        assert resumed["seq"] == home_seq
    finally:
        await comm.disconnect()
