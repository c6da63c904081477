"""The WebSocket protocol's client messages: parsed and validated, no ORM.

docs/protocol.md is the public description. Every client message is a JSON
object with a ``type``; anything else is answered with a typed error.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from .errors import DomainError, Invalid, TooLarge

MAX_ID = 2**63 - 1


class ProtocolError(DomainError):
    """A message that cannot be processed; carries the client_id when known."""

    def __init__(self, error: DomainError, client_id: str | None = None) -> None:
        self.code = error.code
        self.client_id = client_id
        super().__init__(error.message)


@dataclass(frozen=True)
class Subscribe:
    topic: int | None
    idea: int | None


@dataclass(frozen=True)
class Unsubscribe:
    topic: int | None
    idea: int | None


@dataclass(frozen=True)
class Resume:
    after: int


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class PostMessage:
    client_id: str
    topic: int | None
    idea: int | None
    parent: int | None
    title: str
    body: str


@dataclass(frozen=True)
class ReactMessage:
    client_id: str
    post: int
    value: str


@dataclass(frozen=True)
class AlertMessage:
    client_id: str
    text: str


@dataclass(frozen=True)
class VoteMessage:
    """A whole ballot for one round, ``{idea id: value}`` as JSON gives it
    (string keys); the voting service checks ids and values."""

    client_id: str
    round: int
    choices: dict[str, Any]


ClientMessage = (
    Subscribe
    | Unsubscribe
    | Resume
    | Ping
    | PostMessage
    | ReactMessage
    | AlertMessage
    | VoteMessage
)


def message_parse(text: str | None, *, max_bytes: int) -> ClientMessage:
    if text is None:
        raise ProtocolError(Invalid(_("Send JSON text frames.")))
    if len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise ProtocolError(
            TooLarge(_("The message is larger than %(n)d bytes.") % {"n": max_bytes})
        )
    try:
        raw = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(Invalid(_("The message is not valid JSON."))) from exc
    if not isinstance(raw, dict):
        raise ProtocolError(Invalid(_("A message must be a JSON object.")))
    client_id = _client_id_or_none(raw.get("client_id"))
    try:
        return _build(raw, client_id)
    except ProtocolError:
        raise
    except DomainError as exc:
        raise ProtocolError(exc, client_id) from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _build(raw: dict[str, Any], client_id: str | None) -> ClientMessage:
    kind = raw.get("type")
    if kind == "subscribe" or kind == "unsubscribe":
        topic, idea = _optional_id(raw, "topic"), _optional_id(raw, "idea")
        if (topic is None) == (idea is None):
            raise Invalid(_("Give exactly one of topic or idea."))
        return Subscribe(topic, idea) if kind == "subscribe" else Unsubscribe(topic, idea)
    if kind == "resume":
        after = raw.get("after")
        if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= MAX_ID:
            raise Invalid(_("resume needs a non-negative integer 'after'."))
        return Resume(after)
    if kind == "ping":
        return Ping()
    if kind == "post":
        return PostMessage(
            client_id=_required_client_id(client_id),
            topic=_optional_id(raw, "topic"),
            idea=_optional_id(raw, "idea"),
            parent=_optional_id(raw, "parent"),
            title=_string(raw, "title", required=False),
            body=_string(raw, "body", required=True),
        )
    if kind == "react":
        post = _optional_id(raw, "post")
        if post is None:
            raise Invalid(_("react needs a post id."))
        return ReactMessage(
            client_id=_required_client_id(client_id),
            post=post,
            value=_string(raw, "value", required=True),
        )
    if kind == "alert":
        return AlertMessage(
            client_id=_required_client_id(client_id), text=_string(raw, "text", required=True)
        )
    if kind == "vote":
        voting_round, choices = _optional_id(raw, "round"), raw.get("choices")
        if voting_round is None:
            raise Invalid(_("vote needs a round id."))
        if not isinstance(choices, dict):
            raise Invalid(_("vote needs 'choices', an object of idea ids and values."))
        return VoteMessage(
            client_id=_required_client_id(client_id), round=voting_round, choices=choices
        )
    raise Invalid(_("Unknown message type."))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional_id(raw: dict[str, Any], key: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if not _is_int(value) or not 1 <= value <= MAX_ID:
        raise Invalid(_("'%(key)s' must be a positive integer id.") % {"key": key})
    return int(value)


def _string(raw: dict[str, Any], key: str, *, required: bool) -> str:
    value = raw.get(key, "")
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise Invalid(_("'%(key)s' must be a string.") % {"key": key})
    if required and not value.strip():
        raise Invalid(_("'%(key)s' may not be empty.") % {"key": key})
    if not _storable(value):
        raise Invalid(_("'%(key)s' contains characters that are not allowed.") % {"key": key})
    return value


def _storable(value: str) -> bool:
    """No NUL (PostgreSQL refuses it in text) and no lone surrogate (a JSON
    escape like "\\ud800" decodes to one; no database encoding accepts it)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _client_id_or_none(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _required_client_id(client_id: str | None) -> str:
    if client_id is None:
        raise Invalid(_("'client_id' must be a UUID."))
    return client_id
