"""The lab administrator's page of staff accounts and session assignments (/staff/users)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.accounts import ROLES, address_locks, create_user, list_users
from cbt_server.auth.assignments import assign, list_assignments
from cbt_server.auth.lockout import is_locked
from cbt_server.auth.policy import Action
from cbt_server.auth.principal import Principal
from cbt_server.auth.web import now_of, page_context, read_form, require, require_page, see_other
from cbt_server.enrolment.sessions import session_codes
from cbt_server.errors import DomainError
from cbt_server.keys import SESSIONMAKER
from cbt_server.web.templates import render


async def _page(
    request: web.Request, principal: Principal, *, status: int = 200, error: str = ""
) -> web.Response:
    async with request.app[SESSIONMAKER]() as db:
        users = await list_users(db)
        now = now_of(request.app)
        locks = await address_locks(db, now)
        locked = {u.id for u in users if is_locked(u.locked_until, now)}
        sessions = await session_codes(db)
        assignments = await list_assignments(db)
    return render(
        request,
        "console/users.html",
        page_context(
            principal,
            users=users,
            locked=locked,
            locked_from=locks,
            sessions=sessions,
            assignments=assignments,
            roles=ROLES,
            error=error,
        ),
        status=status,
    )


async def users_page(request: web.Request) -> web.Response:
    principal, _ = await require_page(request, Action.MANAGE_USERS)
    return await _page(request, principal)


def _text(form: Any, name: str, limit: int = 256) -> str:
    value = form.get(name, "")
    return value.strip()[:limit] if isinstance(value, str) else ""


async def _apply(request: web.Request, principal: Principal, work: Any) -> web.Response:
    try:
        async with request.app[SESSIONMAKER].begin() as db:
            await work(db)
    except DomainError as error:
        return await _page(request, principal, status=error.http_status, error=error.message)
    return see_other("/staff/users")


async def add_user(request: web.Request) -> web.Response:
    principal, _ = await require(request, Action.MANAGE_USERS)
    form = await read_form(request)

    async def work(db: AsyncSession) -> None:
        password = form.get("password", "")
        user = await create_user(
            db,
            _text(form, "username", 64),
            password if isinstance(password, str) else "",
            _text(form, "role", 16),
            _text(form, "display_name", 128),
        )
        await audit.record(
            db,
            principal.username,
            principal.role.value,
            "user.create",
            f"user:{user.username}",
            "",
            {"role": user.role},
        )

    return await _apply(request, principal, work)


async def add_assignment(request: web.Request) -> web.Response:
    principal, _ = await require(request, Action.MANAGE_USERS)
    form = await read_form(request)

    async def work(db: AsyncSession) -> None:
        await assign(
            db,
            _text(form, "username", 64),
            _text(form, "session", 64),
            leader=form.get("leader") == "on",
            actor=principal.username,
            actor_role=principal.role.value,
        )

    return await _apply(request, principal, work)


def setup(app: web.Application) -> None:
    app.router.add_get("/staff/users", users_page)
    app.router.add_post("/staff/users", add_user)
    app.router.add_post("/staff/assignments", add_assignment)
