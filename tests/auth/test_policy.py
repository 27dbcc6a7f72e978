"""The access policy, every role × duty × action, against a table written out by hand."""

from __future__ import annotations

import itertools

import pytest

from cbt_server.auth.policy import COMMAND_ACTIONS, Action, Duty, Role, action_for_command, decide
from cbt_server.protocol.proctor import ProctorCommand

A, P, S = Role.LAB_ADMIN, Role.PROCTOR, Role.SUPERVISOR
CA, CV = Role.CENTRE_ADMIN, Role.CENTRE_VIEWER
N, M, L = Duty.NONE, Duty.MEMBER, Duty.LEADER
EVERY_DUTY = {N, M, L}
ASSIGNED = {M, L}

# Centre roles may do nothing on a site (and site roles nothing at the centre).
SITE_ONLY: dict[Role, set[Duty]] = {CA: set(), CV: set()}
NO_SITE_ROLE: dict[Role, set[Duty]] = {A: set(), P: set(), S: set()}

# action -> {role: duties under which the role may do it}
EXPECTED: dict[Action, dict[Role, set[Duty]]] = {
    Action.LIST_SESSIONS: {A: EVERY_DUTY, P: EVERY_DUTY, S: EVERY_DUTY, **SITE_ONLY},
    Action.MANAGE_USERS: {A: EVERY_DUTY, P: set(), S: set(), **SITE_ONLY},
    Action.MANAGE_SITE: {A: EVERY_DUTY, P: set(), S: set(), **SITE_ONLY},
    Action.VERIFY_AUDIT: {A: EVERY_DUTY, P: set(), S: EVERY_DUTY, **SITE_ONLY},
    Action.VIEW_SESSION: {A: EVERY_DUTY, P: ASSIGNED, S: ASSIGNED, **SITE_ONLY},
    Action.VIEW_PAPERWORK: {A: EVERY_DUTY, P: ASSIGNED, S: ASSIGNED, **SITE_ONLY},
    Action.VIEW_AUDIT: {A: EVERY_DUTY, P: ASSIGNED, S: ASSIGNED, **SITE_ONLY},
    Action.VIEW_STATISTICS: {A: EVERY_DUTY, P: ASSIGNED, S: ASSIGNED, **SITE_ONLY},
    Action.VIEW_PHOTO: {A: set(), P: ASSIGNED, S: ASSIGNED, **SITE_ONLY},
    Action.OPEN_CHECKIN: {A: set(), P: ASSIGNED, S: set(), **SITE_ONLY},
    Action.START: {A: set(), P: ASSIGNED, S: set(), **SITE_ONLY},
    Action.PAUSE: {A: set(), P: ASSIGNED, S: set(), **SITE_ONLY},
    Action.RESUME: {A: set(), P: ASSIGNED, S: set(), **SITE_ONLY},
    Action.EXTRA_TIME: {A: set(), P: ASSIGNED, S: set(), **SITE_ONLY},
    Action.UNLOCK: {A: set(), P: ASSIGNED, S: set(), **SITE_ONLY},
    Action.FORCE_SUBMIT: {A: set(), P: ASSIGNED, S: set(), **SITE_ONLY},
    Action.MARK_ABSENT: {A: set(), P: ASSIGNED, S: set(), **SITE_ONLY},
    Action.END_SESSION: {A: set(), P: ASSIGNED, S: set(), **SITE_ONLY},
    Action.ADMIT_LATE: {A: set(), P: ASSIGNED, S: set(), **SITE_ONLY},
    Action.VERIFY_IDENTITY: {A: set(), P: ASSIGNED, S: set(), **SITE_ONLY},
    Action.NOTE: {A: set(), P: ASSIGNED, S: set(), **SITE_ONLY},
    Action.SIGN_SUMMARY: {A: set(), P: {L}, S: set(), **SITE_ONLY},
    Action.CENTRE_VIEW: {CA: EVERY_DUTY, CV: EVERY_DUTY, **NO_SITE_ROLE},
    Action.CENTRE_MANAGE: {CA: EVERY_DUTY, CV: set(), **NO_SITE_ROLE},
}


def test_table_covers_every_action() -> None:
    assert set(EXPECTED) == set(Action)


@pytest.mark.parametrize(
    ("role", "duty", "action"), list(itertools.product(Role, Duty, Action)), ids=str
)
def test_decision(role: Role, duty: Duty, action: Action) -> None:
    assert decide(role, duty, action) is (duty in EXPECTED[action][role])


def test_role_given_as_text_and_unknown_roles() -> None:
    assert decide("proctor", Duty.MEMBER, Action.START)
    assert not decide("root", Duty.LEADER, Action.VIEW_SESSION)
    assert not decide("", Duty.LEADER, Action.LIST_SESSIONS)


def test_every_proctor_command_of_the_protocol_maps_to_an_action() -> None:
    types = {cls.model_fields["type"].default for cls in ProctorCommand.__args__}
    assert types == set(COMMAND_ACTIONS)
    assert action_for_command("hello") is None
    assert action_for_command("ping") is None
