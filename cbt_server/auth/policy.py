"""Who may do what: the one decision of the access policy, as a pure function.

`decide(role, duty, action)` is the only place that says yes or no. Every HTTP endpoint
for staff and every proctor command on the WebSocket asks it (through `access.authorize`
or `access.authorize_command`), so the whole matrix can be tested from here.

- lab_admin (机房管理员): runs the site (rooms, seats, rosters, paper packages, users),
  sees every session, runs none of them.
- proctor (监考员/考评员): sees and runs the sessions they are assigned to; the one
  assigned as leader (考评组长) also signs the score summary.
- supervisor (质量督导员): sees everything of the sessions they are assigned to and
  changes nothing.
- centre_admin (市鉴定中心管理员) and centre_viewer (市鉴定中心查看员): staff of the
  city centre's own service (`cbt-server centre serve`). The administrator registers
  sites and trusts their keys; the viewer reads the dashboard, results and histories.
  Centre roles may do nothing on a site, and site roles nothing at the centre.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    LAB_ADMIN = "lab_admin"
    PROCTOR = "proctor"
    SUPERVISOR = "supervisor"
    CENTRE_ADMIN = "centre_admin"
    CENTRE_VIEWER = "centre_viewer"


class Duty(StrEnum):
    """A user's assignment to the session an action is about."""

    NONE = "none"  # not assigned (or the action is not about one session)
    MEMBER = "member"  # assigned
    LEADER = "leader"  # assigned as examiner leader (考评组长)


class Action(StrEnum):
    # not about one session
    LIST_SESSIONS = "sessions.list"
    MANAGE_USERS = "users.manage"
    MANAGE_SITE = "site.manage"  # rooms, seats, rosters, paper packages
    VERIFY_AUDIT = "audit.verify"
    # reading one session
    VIEW_SESSION = "session.view"  # console, live seat grid, score chart
    VIEW_PAPERWORK = "paperwork.view"  # room record, score summary
    VIEW_AUDIT = "session.audit"  # the session's audit trail
    VIEW_STATISTICS = "session.statistics"  # item analysis (item text and option shares)
    # A candidate's photo: personal data, for the staff of that session only (not the lab
    # administrator, who imports photos but runs no session).
    VIEW_PHOTO = "candidate.photo"
    # running one session (the proctor commands of the WebSocket protocol)
    OPEN_CHECKIN = "session.open_checkin"
    START = "session.start"
    PAUSE = "candidate.pause"  # one candidate or the whole room
    RESUME = "candidate.resume"
    EXTRA_TIME = "candidate.extra_time"
    UNLOCK = "candidate.unlock"
    FORCE_SUBMIT = "candidate.force_submit"
    MARK_ABSENT = "candidate.mark_absent"
    END_SESSION = "session.end"
    ADMIT_LATE = "candidate.admit_late"
    VERIFY_IDENTITY = "candidate.verify_identity"  # 已核验: ID card and photo checked
    NOTE = "room.note"
    # signing one session's paperwork
    SIGN_SUMMARY = "paperwork.sign"
    # the city centre's service
    CENTRE_VIEW = "centre.view"  # dashboard, sites, results, a person's history
    CENTRE_MANAGE = "centre.manage"  # register sites, trust a changed key, pull now


SITE_ACTIONS = frozenset(
    {Action.LIST_SESSIONS, Action.MANAGE_USERS, Action.MANAGE_SITE, Action.VERIFY_AUDIT}
)
READ_ACTIONS = frozenset(
    {Action.VIEW_SESSION, Action.VIEW_PAPERWORK, Action.VIEW_AUDIT, Action.VIEW_STATISTICS}
)
RUN_ACTIONS = frozenset(
    {
        Action.OPEN_CHECKIN,
        Action.START,
        Action.PAUSE,
        Action.RESUME,
        Action.EXTRA_TIME,
        Action.UNLOCK,
        Action.FORCE_SUBMIT,
        Action.MARK_ABSENT,
        Action.END_SESSION,
        Action.ADMIT_LATE,
        Action.VERIFY_IDENTITY,
        Action.NOTE,
    }
)
SESSION_ACTIONS = READ_ACTIONS | RUN_ACTIONS | {Action.SIGN_SUMMARY, Action.VIEW_PHOTO}
CENTRE_ACTIONS = frozenset({Action.CENTRE_VIEW, Action.CENTRE_MANAGE})

COMMAND_ACTIONS: dict[str, Action] = {
    "open_checkin": Action.OPEN_CHECKIN,
    "start": Action.START,
    "pause": Action.PAUSE,
    "resume": Action.RESUME,
    "extra_time": Action.EXTRA_TIME,
    "unlock": Action.UNLOCK,
    "force_submit": Action.FORCE_SUBMIT,
    "mark_absent": Action.MARK_ABSENT,
    "end_session": Action.END_SESSION,
    "admit_late": Action.ADMIT_LATE,
    "verify_identity": Action.VERIFY_IDENTITY,
    "note": Action.NOTE,
}
"""Proctor WebSocket command `type` -> the action it performs."""


def decide(role: Role | str, duty: Duty, action: Action) -> bool:
    """Whether a user with `role` and `duty` on the session concerned may do `action`.

    Unknown roles are refused everything. For actions not about one session pass
    `Duty.NONE`; a duty given with such an action changes nothing.
    """
    try:
        role = Role(role)
    except ValueError:
        return False
    assigned = duty in (Duty.MEMBER, Duty.LEADER)
    if role is Role.CENTRE_ADMIN:
        return action in CENTRE_ACTIONS
    if role is Role.CENTRE_VIEWER:
        return action is Action.CENTRE_VIEW
    if action in CENTRE_ACTIONS:
        return False
    if role is Role.LAB_ADMIN:
        return action in SITE_ACTIONS or action in READ_ACTIONS
    if role is Role.PROCTOR:
        if action is Action.LIST_SESSIONS:
            return True
        if action in READ_ACTIONS or action in RUN_ACTIONS or action is Action.VIEW_PHOTO:
            return assigned
        return action is Action.SIGN_SUMMARY and duty is Duty.LEADER
    # supervisor
    if action in (Action.LIST_SESSIONS, Action.VERIFY_AUDIT):
        return True
    return (action in READ_ACTIONS or action is Action.VIEW_PHOTO) and assigned


def action_for_command(command_type: str) -> Action | None:
    """The action of a proctor command type, or None if it is not a command."""
    return COMMAND_ACTIONS.get(command_type)
