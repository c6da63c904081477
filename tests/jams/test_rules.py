"""The permission matrix: role x stage x action, written out here as the
expected table (independently of jams.rules.POLICY), then checked cell by cell."""

from __future__ import annotations

import pytest

from jams.errors import Forbidden, LoginRequired, NotFound, PhaseClosed
from jams.models import Role, Visibility
from jams.phases import Stage
from jams.rules import POLICY, Action, Outsider, decide

P, F, ORG, E = Role.PARTICIPANT, Role.FACILITATOR, Role.ORGANIZER, Role.EXECUTIVE
ALL_ROLES = (P, F, ORG, E)
S = Stage

# action: {role: stages in which it is allowed}; every other cell is refused.
EXPECTED: dict[Action, dict[Role, set[Stage]]] = {
    Action.VIEW_JAM: {r: set(Stage) for r in ALL_ROLES},
    Action.READ: {r: set(Stage) for r in ALL_ROLES},
    Action.JOIN: {},
    Action.MANAGE_JAM: {ORG: set(Stage)},
    Action.MANAGE_MEMBERS: {ORG: set(Stage)},
    Action.VIEW_AUDIT: {ORG: set(Stage)},
    Action.CHANGE_PHASE: {ORG: set(Stage) - {S.PUBLISHED}},
    Action.PUBLISH_RESULTS: {ORG: {S.CLOSED, S.PUBLISHED}},
    Action.POST: {r: {S.DISCUSSION} for r in ALL_ROLES},
    Action.REACT: {r: {S.DISCUSSION} for r in ALL_ROLES},
    Action.FLAG: {r: set(Stage) - {S.SETUP} for r in ALL_ROLES},
    Action.MODERATE: {F: set(Stage) - {S.SETUP}, ORG: set(Stage) - {S.SETUP}},
    Action.ALERT: {
        F: {S.DISCUSSION, S.CURATION, S.VOTING},
        ORG: {S.DISCUSSION, S.CURATION, S.VOTING},
    },
    Action.MANAGE_BALLOT: {ORG: {S.SETUP, S.DISCUSSION, S.CURATION}},
    Action.VOTE: {r: {S.VOTING} for r in ALL_ROLES},
    Action.RUN_ANALYSIS: {ORG: set(Stage) - {S.SETUP}},
    Action.VIEW_PULSE: {F: set(Stage) - {S.SETUP}, ORG: set(Stage) - {S.SETUP}},
    Action.READ_REPORT: {
        P: {S.PUBLISHED},
        F: {S.PUBLISHED},
        ORG: {S.CLOSED, S.PUBLISHED},
        E: {S.CLOSED, S.PUBLISHED},
    },
    Action.EXPORT_REPORT: {ORG: {S.CLOSED, S.PUBLISHED}, E: {S.CLOSED, S.PUBLISHED}},
    Action.VIEW_WALL: {r: set(Stage) for r in ALL_ROLES},
    Action.HELP_RADAR: {F: set(Stage), ORG: set(Stage)},
    Action.MANAGE_SESSIONS: {ORG: set(Stage)},
    Action.MANAGE_GUIDELINES: {ORG: set(Stage)},
    Action.ASK_SESSION_QUESTION: {r: {S.DISCUSSION} for r in ALL_ROLES},
    Action.VIEW_DIRECTORY: {r: set(Stage) for r in ALL_ROLES},
}


def test_expected_table_covers_every_action() -> None:
    assert set(EXPECTED) == set(Action) == set(POLICY)


CELLS = [(a, r, s) for a in Action for r in ALL_ROLES for s in Stage]


@pytest.mark.parametrize(("action", "role", "stage"), CELLS, ids=lambda v: str(v))
def test_member_matrix(action: Action, role: Role, stage: Stage) -> None:
    allowed_roles = EXPECTED[action]
    result = decide(action, subject=role, visibility=Visibility.INVITATION, stage=stage)
    if role not in allowed_roles:
        assert result is Forbidden
    elif stage not in allowed_roles[role]:
        assert result is PhaseClosed
    else:
        assert result is None


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("stage", list(Stage))
def test_outsiders_see_nothing_of_an_invitation_only_jam(action: Action, stage: Stage) -> None:
    assert (
        decide(action, subject=Outsider.NON_MEMBER, visibility=Visibility.INVITATION, stage=stage)
        is NotFound
    )
    assert (
        decide(action, subject=Outsider.ANONYMOUS, visibility=Visibility.INVITATION, stage=stage)
        is LoginRequired
    )


@pytest.mark.parametrize("visibility", [Visibility.PUBLIC, Visibility.MEMBERS])
@pytest.mark.parametrize("action", list(Action))
def test_signed_in_outsiders_may_only_view_and_join_open_jams(
    visibility: str, action: Action
) -> None:
    result = decide(action, subject=Outsider.NON_MEMBER, visibility=visibility, stage=S.DISCUSSION)
    if action in (Action.VIEW_JAM, Action.JOIN):
        assert result is None
    else:
        assert result is NotFound


def test_anonymous_visitors_see_only_public_landing_pages() -> None:
    public, members = Visibility.PUBLIC, Visibility.MEMBERS
    anonymous = Outsider.ANONYMOUS
    assert decide(Action.VIEW_JAM, subject=anonymous, visibility=public, stage=S.DISCUSSION) is None
    assert (
        decide(Action.JOIN, subject=anonymous, visibility=public, stage=S.DISCUSSION)
        is LoginRequired
    )
    assert (
        decide(Action.READ, subject=anonymous, visibility=public, stage=S.DISCUSSION)
        is LoginRequired
    )
    assert (
        decide(Action.VIEW_JAM, subject=anonymous, visibility=members, stage=S.DISCUSSION)
        is LoginRequired
    )
