"""Applying the policy to stored facts: a user's duty on a session, and the checks that
raise `Forbidden` when `policy.decide` says no."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.auth.policy import SESSION_ACTIONS, Action, Duty, action_for_command, decide
from cbt_server.auth.principal import Principal
from cbt_server.auth.sessions import ensure_alive
from cbt_server.db.models import Assignment
from cbt_server.db.types import utcnow
from cbt_server.errors import Forbidden

_WHAT = {
    Action.LIST_SESSIONS: "list sessions",
    Action.MANAGE_USERS: "manage staff accounts",
    Action.MANAGE_SITE: "manage rooms, rosters and papers",
    Action.VERIFY_AUDIT: "verify the audit log",
    Action.VIEW_SESSION: "view this session",
    Action.VIEW_PAPERWORK: "view this session's paperwork",
    Action.VIEW_AUDIT: "read this session's audit trail",
    Action.SIGN_SUMMARY: "sign the score summary (the examiner leader signs)",
    Action.CENTRE_VIEW: "read the city centre's service",
    Action.CENTRE_MANAGE: "manage the city centre's sites",
}


async def duty_of(db: AsyncSession, user_id: int, session_id: int | None) -> Duty:
    """The user's assignment to exam session `session_id` (NONE when not assigned)."""
    if session_id is None:
        return Duty.NONE
    row = await db.scalar(
        select(Assignment).where(Assignment.user_id == user_id, Assignment.session_id == session_id)
    )
    if row is None:
        return Duty.NONE
    return Duty.LEADER if row.leader else Duty.MEMBER


async def authorize(
    db: AsyncSession, principal: Principal, action: Action, session_id: int | None = None
) -> Duty:
    """Raise Forbidden unless `principal` may do `action` (on exam session `session_id`).

    Returns the principal's duty on the session, for pages that show it.
    """
    if action in SESSION_ACTIONS and session_id is None:
        raise ValueError(f"{action} is about one session: pass its id")
    duty = await duty_of(db, principal.user_id, session_id)
    if not decide(principal.role, duty, action):
        what = _WHAT.get(action, f"do {action.value} in this session")
        raise Forbidden(f"{principal.role.value} {principal.username!r} may not {what}")
    return duty


async def authorize_command(
    db: AsyncSession, principal: Principal, session_id: int, command_type: str
) -> Action:
    """Check one proctor WebSocket command; returns the action it performs.

    The console's connection outlives requests, so the staff session is checked again
    here: a command after logout or expiry is refused (NotAuthenticated).
    """
    await ensure_alive(db, principal, utcnow())
    action = action_for_command(command_type)
    if action is None:
        raise Forbidden(f"{command_type!r} is not a proctor command")
    await authorize(db, principal, action, session_id)
    return action
