"""Who may watch and command a session over `/ws/proctor`: the one place that decides.

It defers to the staff accounts of `cbt_server.auth` (cookie session `cbt_staff`, roles
and assignments, `policy.decide`): a proctor runs the sessions they are assigned to, a
supervisor watches them, a lab administrator watches any.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.auth.access import authorize, authorize_command
from cbt_server.auth.policy import Action
from cbt_server.auth.principal import Principal
from cbt_server.auth.web import current_principal
from cbt_server.errors import NotAuthenticated
from cbt_server.runtime.proctor_service import Actor


async def proctor_principal(request: web.Request) -> Principal:
    """The signed-in staff member opening a console socket (checked before the upgrade)."""
    principal = await current_principal(request)
    if principal is None:
        raise NotAuthenticated("sign in as staff before opening the room console")
    return principal


async def authorize_watch(db: AsyncSession, principal: Principal, session_id: int) -> None:
    """Raise Forbidden unless `principal` may watch session `session_id`."""
    await authorize(db, principal, Action.VIEW_SESSION, session_id)


async def authorize_proctor_command(
    db: AsyncSession, principal: Principal, session_id: int, command_type: str
) -> None:
    """Raise Forbidden unless `principal` may give this command in this session."""
    await authorize_command(db, principal, session_id, command_type)


def actor_of(principal: Principal) -> Actor:
    return Actor(username=principal.username, role=principal.role.value)
