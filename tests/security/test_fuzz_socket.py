"""Property-based fuzzing of the jam socket (Hypothesis).

Every frame a client can send, well-formed or not: every message type with
fields of the wrong type, unknown types, huge numbers, NaN and infinities,
deep nesting, lone surrogates (as JSON escapes, which decode to invalid
Unicode, and raw in the text), NUL characters, binary frames, frames over the
size cap, raw junk. Each frame gets exactly one typed answer (an ack, a
confirmation or an ``error`` with a documented code), the socket stays open,
and the consumer never hits its catch-all ("socket message failed" +
``server_error``).

The jam and its members are committed (the consumer reads them from its own
threads) once per test, not per example, and flushed after it.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from ideas.models import Post
from jams.models import Jam, Role
from jams.phases import Stage
from jamsite.asgi import application
from tests.factories import TopicFactory, idea_in, jam_in_stage, member

ORIGIN = "http://127.0.0.1:8000"
WAIT = 5.0
MAX_BYTES = 64 * 1024
TYPES = ["subscribe", "unsubscribe", "post", "react", "alert", "vote", "resume", "ping"]
# Documented in docs/protocol.md; ``server_error`` is the one that must never come.
CODES = {"invalid", "not_found", "forbidden", "phase_closed", "rate_limited", "too_large"}
ANSWERS = {"ack", "error", "subscribed", "unsubscribed", "resumed", "pong"}


@dataclass
class World:
    jam: Jam
    topic: int
    idea: int
    post: int
    facilitator: User
    participant: User


@pytest.fixture
def world(transactional_db: None) -> World:
    """Committed, so the consumer's threads see it (flushed after the test)."""
    jam = jam_in_stage(Stage.DISCUSSION)
    topic = TopicFactory(jam=jam)
    idea = idea_in(jam, topic=topic)
    post = Post.objects.get(idea=idea, parent=None)
    return World(
        jam=jam,
        topic=topic.pk,
        idea=idea.pk,
        post=post.pk,
        facilitator=member(jam, Role.FACILITATOR),
        participant=member(jam, Role.PARTICIPANT),
    )


class Failures(logging.Handler):
    """Records the consumer's catch-all log lines."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def failures() -> Iterator[Failures]:
    handler = Failures()
    loggers = [logging.getLogger(name) for name in ("jams.consumers", "jams.hub", "django")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


# --- Strategies ----------------------------------------------------------------------

surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
nasty_text = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8") | surrogates, max_size=20),
    st.sampled_from(
        ["", " ", "\x00", "a\x00b", "\u202e", "\ufeff", "x" * 10_001, "<script>", "\ud800", "💥"]
    ),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    nasty_text,
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


def messages(w: World) -> st.SearchStrategy[dict[str, Any]]:
    ids = st.one_of(st.sampled_from([w.topic, w.idea, w.post, 1, 2**63 - 1]), json_values)
    texts = st.one_of(nasty_text, json_values)
    return st.fixed_dictionaries(
        {"type": st.one_of(st.sampled_from(TYPES), json_values)},
        optional={
            "client_id": st.one_of(st.uuids().map(str), json_values),
            "topic": ids,
            "idea": ids,
            "post": ids,
            "parent": ids,
            "after": st.one_of(st.integers(min_value=-1, max_value=2**64), json_values),
            "title": texts,
            "body": texts,
            "text": texts,
            "value": st.one_of(st.sampled_from(["agree", "disagree", "pass"]), texts),
            "round": ids,
            "choices": st.one_of(
                st.dictionaries(st.one_of(st.just(str(w.idea)), st.text(max_size=4)), json_values),
                json_values,
            ),
        },
    )


def deep(n: int) -> str:
    return "[" * n + "]" * n


def frames(w: World) -> st.SearchStrategy[str | bytes]:
    return st.one_of(
        messages(w).map(json.dumps),  # NaN and Infinity become bare constants
        messages(w).map(lambda m: json.dumps(m, ensure_ascii=False)),  # raw surrogates
        st.binary(max_size=64),  # a binary frame
        st.text(max_size=64),  # junk
        st.integers(min_value=1, max_value=200_000).map(deep),
        st.just('{"type": "post", "topic": ' + "9" * 5000 + "}"),  # a 5,000-digit number
        st.just(json.dumps({"type": "ping", "pad": "x" * (MAX_BYTES + 1)})),  # over the cap
        st.just(json.dumps({"type": "ping", "pad": "é" * (MAX_BYTES // 2 + 1)})),  # cap in bytes
        st.just('{"type": "resume", "after": NaN}'),
        st.just('{"type": "resume", "after": 1e999}'),
    )


# --- The property --------------------------------------------------------------------


def _cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def _answer(comm: WebsocketCommunicator) -> dict[str, Any]:
    """The next message that is not an event (events and heartbeats may come between)."""
    while True:
        output = await comm.receive_output(timeout=WAIT)
        assert output["type"] == "websocket.send", f"the socket closed: {output}"
        message = json.loads(output["text"])
        if message["type"] not in ("event", "tick"):
            return message


async def _exchange(user: User, jam: Jam, batch: list[str | bytes]) -> list[dict[str, Any]]:
    cookie = await database_sync_to_async(_cookie)(user)
    comm = WebsocketCommunicator(
        application,
        f"/ws/jams/{jam.slug}/",
        headers=[(b"origin", ORIGIN.encode()), (b"cookie", f"sessionid={cookie}".encode())],
    )
    connected, _ = await comm.connect()
    assert connected
    answers = []
    try:
        assert (await _answer(comm))["type"] == "hello"
        for frame in batch:
            # The raw ASGI event: WebsocketCommunicator.send_to refuses empty frames.
            key = "bytes" if isinstance(frame, bytes) else "text"
            await comm.send_input({"type": "websocket.receive", key: frame})
            answers.append(await _answer(comm))
    finally:
        await comm.disconnect()
    return answers


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_frame_gets_a_typed_answer(
    world: World, failures: Failures, data: st.DataObject
) -> None:
    user = data.draw(st.sampled_from([world.facilitator, world.participant]), label="user")
    batch = data.draw(st.lists(frames(world), min_size=1, max_size=12), label="frames")
    channel_layers.backends = {}  # a fresh layer for this example's event loop
    failures.records.clear()
    # The token bucket has its own tests; here every frame reaches the parser.
    with override_settings(JAM_WS_MESSAGES_PER_SECOND=1e6, JAM_WS_MESSAGE_BURST=1e6):
        answers = async_to_sync(_exchange)(user, world.jam, batch)
    assert len(answers) == len(batch)
    for frame, answer in zip(batch, answers, strict=True):
        assert answer["type"] in ANSWERS, (frame, answer)
        if answer["type"] == "error":
            assert answer["code"] in CODES, (frame[:300], answer)
            assert isinstance(answer["message"], str) and answer["message"]
    assert [r.getMessage() for r in failures.records] == []


def test_the_rate_limit_is_a_typed_error_too(world: World) -> None:
    channel_layers.backends = {}
    answers = async_to_sync(_exchange)(
        world.participant, world.jam, [json.dumps({"type": "ping"})] * 40
    )
    codes = [a.get("code") for a in answers if a["type"] == "error"]
    assert codes and set(codes) == {"rate_limited"}
    assert answers[0] == {"type": "pong"}


@pytest.mark.parametrize(
    "value",
    ["\ud800", "a\udfffb", "nul\x00here"],
    ids=["lone-high-surrogate", "lone-low-surrogate", "nul"],
)
def test_text_the_database_cannot_store_is_refused_as_invalid(
    world: World, failures: Failures, value: str
) -> None:
    """Found by the fuzzer: a JSON escape like ``"\\ud800"`` decodes to a lone
    surrogate, which no database encoding accepts, and PostgreSQL refuses NUL
    characters; both used to end in ``server_error``."""
    channel_layers.backends = {}
    failures.records.clear()
    frames_ = [
        json.dumps({"type": t, "client_id": str(uuid.uuid4()), **fields})
        for t, fields in (
            ("post", {"topic": world.topic, "title": value, "body": "ok"}),
            ("post", {"topic": world.topic, "title": "ok", "body": value}),
            ("post", {"idea": world.idea, "body": value}),
            ("alert", {"text": value}),
            ("react", {"post": world.post, "value": value}),
        )
    ]
    answers = async_to_sync(_exchange)(world.facilitator, world.jam, frames_)
    assert [(a["type"], a.get("code")) for a in answers] == [("error", "invalid")] * 5
    assert failures.records == []


def test_strategies_reach_nan_and_deep_nesting() -> None:
    """The generator really produces the nasty cases (a cheap self-check)."""
    assert math.isnan(json.loads('{"a": NaN}')["a"])  # what the server must refuse
    assert len(deep(3)) == 6
