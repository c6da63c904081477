"""The jam's stage, derived from its schedule and the clock.

Pure code: no ORM, no Django models. One half-open definition everywhere: a
phase is current when ``starts_at <= now < ends_at``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise

from django.utils.translation import gettext as _


class PhaseKind(StrEnum):
    DISCUSSION = "discussion"
    CURATION = "curation"
    VOTING = "voting"
    RESULTS = "results"


class Stage(StrEnum):
    """What the jam allows now; the permission table is written in stages."""

    SETUP = "setup"
    DISCUSSION = "discussion"
    CURATION = "curation"
    VOTING = "voting"
    CLOSED = "closed"
    PUBLISHED = "published"


STAGE_OF_KIND = {
    PhaseKind.DISCUSSION: Stage.DISCUSSION,
    PhaseKind.CURATION: Stage.CURATION,
    PhaseKind.VOTING: Stage.VOTING,
    PhaseKind.RESULTS: Stage.CLOSED,
}


@dataclass(frozen=True, slots=True)
class PhaseWindow:
    id: int
    kind: PhaseKind
    starts_at: datetime
    ends_at: datetime

    def contains(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at


@dataclass(frozen=True, slots=True)
class JamState:
    stage: Stage
    phase: PhaseWindow | None
    next_phase: PhaseWindow | None
    # What the countdown counts down to: the end of the current phase, else
    # the start of the next one, else nothing.
    deadline: datetime | None


def jam_state(
    phases: Sequence[PhaseWindow], *, published_at: datetime | None, now: datetime
) -> JamState:
    ordered = sorted(phases, key=lambda p: (p.starts_at, p.id))
    current = next((p for p in reversed(ordered) if p.contains(now)), None)
    upcoming = [p for p in ordered if p.starts_at > now]
    next_phase = upcoming[0] if upcoming else None
    deadline = current.ends_at if current else (next_phase.starts_at if next_phase else None)

    if published_at is not None and published_at <= now:
        stage = Stage.PUBLISHED
    elif current is not None:
        stage = STAGE_OF_KIND[current.kind]
    else:
        stage = _stage_between_phases(ordered, upcoming, now)
    return JamState(stage=stage, phase=current, next_phase=next_phase, deadline=deadline)


def _stage_between_phases(
    ordered: Sequence[PhaseWindow], upcoming: Sequence[PhaseWindow], now: datetime
) -> Stage:
    ended = [p for p in ordered if p.ends_at <= now]
    if not ended:
        return Stage.SETUP
    voting_ended = any(p.kind is PhaseKind.VOTING for p in ended)
    if upcoming and not voting_ended:
        # Between discussion and voting: organizers shortlist.
        return Stage.CURATION
    return Stage.CLOSED


# --- Organizer transitions -------------------------------------------------


class Transition(StrEnum):
    OPEN_NOW = "open_now"
    CLOSE_NOW = "close_now"
    EXTEND = "extend"
    PUBLISH = "publish"
    UNPUBLISH = "unpublish"


MAX_EXTENSION_MINUTES = 7 * 24 * 60


class TransitionRefused(Exception):
    """The transition is not allowed now; the message says why."""


@dataclass(frozen=True, slots=True)
class WindowChange:
    phase_id: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class TransitionPlan:
    changes: tuple[WindowChange, ...]
    publish: bool | None  # True: publish now, False: unpublish, None: unchanged


# Which stages each transition may start from. Everything else is refused.
TRANSITION_STAGES: dict[Transition, frozenset[Stage]] = {
    Transition.OPEN_NOW: frozenset(Stage) - {Stage.PUBLISHED},
    Transition.CLOSE_NOW: frozenset(Stage) - {Stage.PUBLISHED, Stage.SETUP},
    Transition.EXTEND: frozenset(Stage) - {Stage.PUBLISHED},
    Transition.PUBLISH: frozenset({Stage.CLOSED}),
    Transition.UNPUBLISH: frozenset({Stage.PUBLISHED}),
}


def transition_plan(
    phases: Sequence[PhaseWindow],
    *,
    published_at: datetime | None,
    transition: Transition,
    now: datetime,
    phase_id: int | None = None,
    minutes: int | None = None,
) -> TransitionPlan:
    """What a transition changes, or ``TransitionRefused`` with the reason.

    - open now: the next upcoming phase starts now; a current phase ends now.
    - close now: the current phase ends now.
    - extend: a current or upcoming phase ends later; later phases that would
      overlap move later by the overlap, keeping their length.
    - publish: only once voting is over (stage closed); unpublish undoes it.
    """
    state = jam_state(phases, published_at=published_at, now=now)
    if state.stage not in TRANSITION_STAGES[transition]:
        raise TransitionRefused(
            _("That is not allowed while the jam is in the %(stage)s stage.")
            % {"stage": state.stage}
        )
    if transition is Transition.PUBLISH:
        return TransitionPlan(changes=(), publish=True)
    if transition is Transition.UNPUBLISH:
        return TransitionPlan(changes=(), publish=False)

    target = next((p for p in phases if p.id == phase_id), None)
    if target is None:
        raise TransitionRefused(_("There is no such phase in this jam."))
    if transition is Transition.OPEN_NOW:
        return TransitionPlan(changes=_open_now(state, target, now), publish=None)
    if transition is Transition.CLOSE_NOW:
        if state.phase is None or state.phase.id != target.id:
            raise TransitionRefused(_("Only the current phase can be closed."))
        return TransitionPlan(
            changes=(WindowChange(target.id, target.starts_at, now),), publish=None
        )
    return TransitionPlan(changes=_extend(phases, target, minutes, now), publish=None)


def _open_now(state: JamState, target: PhaseWindow, now: datetime) -> tuple[WindowChange, ...]:
    if state.next_phase is None or state.next_phase.id != target.id:
        raise TransitionRefused(_("Only the next upcoming phase can be opened now."))
    changes = []
    if state.phase is not None:
        changes.append(WindowChange(state.phase.id, state.phase.starts_at, now))
    changes.append(WindowChange(target.id, now, target.ends_at))
    return tuple(changes)


def _extend(
    phases: Sequence[PhaseWindow], target: PhaseWindow, minutes: int | None, now: datetime
) -> tuple[WindowChange, ...]:

    if minutes is None or not 1 <= minutes <= MAX_EXTENSION_MINUTES:
        raise TransitionRefused(
            _("Extend by 1 to %(max)d minutes.") % {"max": MAX_EXTENSION_MINUTES}
        )
    if target.ends_at <= now:
        raise TransitionRefused(_("A phase that has ended cannot be extended."))
    new_end = target.ends_at + timedelta(minutes=minutes)
    changes = [WindowChange(target.id, target.starts_at, new_end)]
    later = sorted(
        (p for p in phases if p.id != target.id and p.starts_at >= target.ends_at),
        key=lambda p: p.starts_at,
    )
    if later and later[0].starts_at < new_end:
        shift = new_end - later[0].starts_at
        changes.extend(WindowChange(p.id, p.starts_at + shift, p.ends_at + shift) for p in later)
    return tuple(changes)


def windows_overlap(phases: Sequence[PhaseWindow]) -> bool:
    ordered = sorted(phases, key=lambda p: p.starts_at)
    return any(a.ends_at > b.starts_at for a, b in pairwise(ordered))
