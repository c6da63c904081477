"""Who may do what in a jam, now: the one place that answers it.

The table ``POLICY`` is the permission matrix (docs/security.md shows it).
Every view, consumer, admin action, command and service asks ``jam_check`` /
``jam_require``. The answer depends on who the user is to the jam (their
role, or outsider / anonymous), the jam's visibility and its stage, which is
derived from the clock.

Outcomes, in the order they are decided:
1. the jam is not visible to the user at all: ``not_found`` (anonymous users
   are asked to sign in instead, for any jam, so slugs do not leak);
2. an outsider acting on a visible jam: allowed only for the outsider actions
   (view the landing page, join); anything else is ``not_found``;
3. a member whose role does not allow the action: ``forbidden``;
4. the action is not allowed in the current stage: ``phase_closed``;
5. an organizer-only action by an organizer without two-factor
   authentication, when ``JAM_ORGANIZER_MFA`` is on: ``mfa_required``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from .errors import DomainError, Forbidden, LoginRequired, MfaRequired, NotFound, PhaseClosed
from .models import Role, Visibility
from .phases import Stage

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

    from .models import Jam
    from .selectors import JamContext


class Action(StrEnum):
    VIEW_JAM = "view_jam"  # the jam's landing page
    JOIN = "join"
    READ = "read"  # topics, threads, search, the live socket
    MANAGE_JAM = "manage_jam"  # details, topics, schedule
    CHANGE_PHASE = "change_phase"  # open now, close now, extend
    PUBLISH_RESULTS = "publish_results"
    MANAGE_MEMBERS = "manage_members"
    VIEW_AUDIT = "view_audit"
    POST = "post"  # new ideas and replies, edit own
    REACT = "react"
    FLAG = "flag"
    MODERATE = "moderate"  # hide, restore, pin, merge
    ALERT = "alert"  # broadcast to the whole jam
    MANAGE_BALLOT = "manage_ballot"
    VOTE = "vote"
    RUN_ANALYSIS = "run_analysis"
    VIEW_PULSE = "view_pulse"
    READ_REPORT = "read_report"
    EXPORT_REPORT = "export_report"
    # Community (community/): the wall, the help radar, hosted sessions,
    # guidelines, the member directory.
    VIEW_WALL = "view_wall"
    HELP_RADAR = "help_radar"  # the help queue, claims, shifts and hand-off notes
    MANAGE_SESSIONS = "manage_sessions"
    MANAGE_GUIDELINES = "manage_guidelines"  # guidelines text, help topic, radar settings
    ASK_SESSION_QUESTION = "ask_session_question"
    VIEW_DIRECTORY = "view_directory"


class Outsider(StrEnum):
    ANONYMOUS = "anonymous"
    NON_MEMBER = "non_member"


Subject = Role | Outsider

EVERY_STAGE = frozenset(Stage)
MEMBERS = frozenset(Role)
STAFF = frozenset({Role.FACILITATOR, Role.ORGANIZER})
ORGANIZERS = frozenset({Role.ORGANIZER})
OUTSIDER_ACTIONS = frozenset({Action.VIEW_JAM, Action.JOIN})
AFTER_START = EVERY_STAGE - {Stage.SETUP}
LIVE = frozenset({Stage.DISCUSSION, Stage.CURATION, Stage.VOTING})
RESULTS_READY = frozenset({Stage.CLOSED, Stage.PUBLISHED})


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role]
    stages: frozenset[Stage]
    # Finer rules on top of roles x stages, keyed by role: stages in which that
    # role may act (e.g. participants read the report only once published).
    stages_for_role: tuple[tuple[Role, frozenset[Stage]], ...] = ()

    def stages_for(self, role: Role) -> frozenset[Stage]:
        for r, stages in self.stages_for_role:
            if r is role:
                return stages
        return self.stages


POLICY: dict[Action, Rule] = {
    Action.VIEW_JAM: Rule(MEMBERS, EVERY_STAGE),
    Action.JOIN: Rule(frozenset(), EVERY_STAGE),  # outsiders only; see OUTSIDER_ACTIONS
    Action.READ: Rule(MEMBERS, EVERY_STAGE),
    Action.MANAGE_JAM: Rule(ORGANIZERS, EVERY_STAGE),
    Action.CHANGE_PHASE: Rule(ORGANIZERS, EVERY_STAGE - {Stage.PUBLISHED}),
    Action.PUBLISH_RESULTS: Rule(ORGANIZERS, RESULTS_READY),
    Action.MANAGE_MEMBERS: Rule(ORGANIZERS, EVERY_STAGE),
    Action.VIEW_AUDIT: Rule(ORGANIZERS, EVERY_STAGE),
    Action.POST: Rule(MEMBERS, frozenset({Stage.DISCUSSION})),
    Action.REACT: Rule(MEMBERS, frozenset({Stage.DISCUSSION})),
    Action.FLAG: Rule(MEMBERS, AFTER_START),
    Action.MODERATE: Rule(STAFF, AFTER_START),
    Action.ALERT: Rule(STAFF, LIVE),
    Action.MANAGE_BALLOT: Rule(
        ORGANIZERS, frozenset({Stage.SETUP, Stage.DISCUSSION, Stage.CURATION})
    ),
    Action.VOTE: Rule(MEMBERS, frozenset({Stage.VOTING})),
    Action.RUN_ANALYSIS: Rule(ORGANIZERS, AFTER_START),
    Action.VIEW_PULSE: Rule(STAFF, AFTER_START),
    Action.READ_REPORT: Rule(
        MEMBERS,
        RESULTS_READY,
        stages_for_role=(
            (Role.PARTICIPANT, frozenset({Stage.PUBLISHED})),
            (Role.FACILITATOR, frozenset({Stage.PUBLISHED})),
        ),
    ),
    Action.EXPORT_REPORT: Rule(frozenset({Role.ORGANIZER, Role.EXECUTIVE}), RESULTS_READY),
    Action.VIEW_WALL: Rule(MEMBERS, EVERY_STAGE),
    Action.HELP_RADAR: Rule(STAFF, EVERY_STAGE),
    Action.MANAGE_SESSIONS: Rule(ORGANIZERS, EVERY_STAGE),
    Action.MANAGE_GUIDELINES: Rule(ORGANIZERS, EVERY_STAGE),
    Action.ASK_SESSION_QUESTION: Rule(MEMBERS, frozenset({Stage.DISCUSSION})),
    Action.VIEW_DIRECTORY: Rule(MEMBERS, EVERY_STAGE),
}


# Actions only organizers may take; with JAM_ORGANIZER_MFA on (production's
# default) they also need two-factor authentication.
MFA_ACTIONS = frozenset(action for action, rule in POLICY.items() if rule.roles == ORGANIZERS)


def visible_to_outsider(visibility: str, *, authenticated: bool) -> bool:
    if visibility == Visibility.PUBLIC:
        return True
    return visibility == Visibility.MEMBERS and authenticated


def decide(
    action: Action, *, subject: Subject, visibility: str, stage: Stage
) -> type[DomainError] | None:
    """The pure decision: ``None`` when allowed, else the error class to raise."""
    if isinstance(subject, Outsider):
        authenticated = subject is Outsider.NON_MEMBER
        if not visible_to_outsider(visibility, authenticated=authenticated):
            return NotFound if authenticated else LoginRequired
        if action not in OUTSIDER_ACTIONS:
            return NotFound if authenticated else LoginRequired
        if action is Action.JOIN and not authenticated:
            return LoginRequired
        return None
    rule = POLICY[action]
    if subject not in rule.roles:
        return Forbidden
    if stage not in rule.stages_for(subject):
        return PhaseClosed
    return None


def subject_for(user: User | AnonymousUser, role: str | None) -> Subject:
    if not user.is_authenticated:
        return Outsider.ANONYMOUS
    if role is None:
        return Outsider.NON_MEMBER
    return Role(role)


def jam_check(ctx: JamContext, action: Action, *, now: datetime | None = None) -> bool:
    return jam_denial(ctx, action, now=now) is None


def jam_denial(
    ctx: JamContext, action: Action, *, now: datetime | None = None
) -> type[DomainError] | None:
    stage = ctx.state(now or timezone.now()).stage
    denial = decide(action, subject=ctx.subject, visibility=ctx.jam.visibility, stage=stage)
    if (
        denial is None
        and action in MFA_ACTIONS
        and settings.JAM_ORGANIZER_MFA
        and not ctx.mfa_enabled
    ):
        return MfaRequired
    return denial


def jam_require(ctx: JamContext, action: Action, *, now: datetime | None = None) -> None:
    error = jam_denial(ctx, action, now=now)
    if error is not None:
        raise error()


def role_of(jam: Jam, user: User | AnonymousUser) -> str | None:
    from .models import Membership

    if not user.is_authenticated:
        return None
    return Membership.objects.filter(jam=jam, user=user).values_list("role", flat=True).first()
