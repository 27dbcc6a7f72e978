"""Signing staff in and out: password check, lockout, session, audit entries.

`log_in` returns an outcome instead of raising: a refused login still commits its failure
count and its audit entry.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cbt_server import audit
from cbt_server.accounts import hash_password, verify_password
from cbt_server.auth.config import AuthConfig
from cbt_server.auth.lockout import LockState, after_failure, after_success, is_locked
from cbt_server.auth.principal import Principal
from cbt_server.auth.sessions import open_session, principal_of, revoke
from cbt_server.db.models import User

# Checked when the username is unknown, so that a miss costs as much time as a hit.
_DUMMY_HASH = hash_password("not a password of anyone")


class LoginStatus(StrEnum):
    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"
    LOCKED = "locked"


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    status: LoginStatus
    secret: str = ""
    principal: Principal | None = None
    locked_until: datetime | None = None


def _actor(username: str) -> str:
    return username.strip()[:128] or "(empty)"


async def _refuse(
    maker: async_sessionmaker[AsyncSession],
    status: LoginStatus,
    actor: str,
    role: str,
    action: str,
    reason: str,
    data: dict[str, Any],
    locked_until: datetime | None = None,
) -> LoginOutcome:
    async with maker.begin() as db:
        await audit.record(db, actor, role, action, "", reason, data)
    return LoginOutcome(status, locked_until=locked_until)


async def log_in(
    maker: async_sessionmaker[AsyncSession],
    username: str,
    password: str,
    now: datetime,
    config: AuthConfig,
    client: str = "",
    replaces: str | None = None,
) -> LoginOutcome:
    """Check a username and password; on success open a session. Audited either way.

    The argon2 check (about half a second of CPU) runs in a worker thread and outside any
    transaction, so a staff login neither stalls the event loop nor holds the database
    write lock while candidates' answers are being saved. `replaces` is the id of a
    session this browser had, ended when the new sign-in succeeds.
    """
    name = username.strip()
    data: dict[str, Any] = {"client": client[:256]}
    user = None
    if 0 < len(name) <= 64:
        async with maker() as db:
            user = await db.scalar(select(User).where(User.username == name))
    if user is None or user.disabled:
        await asyncio.to_thread(verify_password, _DUMMY_HASH, password)
        return await _refuse(
            maker,
            LoginStatus.BAD_CREDENTIALS,
            _actor(name),
            "",
            "login.failure",
            "unknown user",
            data,
        )
    if is_locked(user.locked_until, now):
        return await _refuse(
            maker,
            LoginStatus.LOCKED,
            user.username,
            user.role,
            "login.refused",
            "locked",
            data,
            user.locked_until,
        )
    good = await asyncio.to_thread(verify_password, user.password_hash, password)
    async with maker.begin() as db:
        fresh = await db.get(User, user.id, populate_existing=True)
        if fresh is None or fresh.disabled:
            return LoginOutcome(LoginStatus.BAD_CREDENTIALS)
        if is_locked(fresh.locked_until, now):  # locked by a parallel attempt meanwhile
            await audit.record(db, fresh.username, fresh.role, "login.refused", "", "locked", data)
            return LoginOutcome(LoginStatus.LOCKED, locked_until=fresh.locked_until)
        if not good:
            state = after_failure(LockState(fresh.failed_logins, fresh.locked_until), now, config)
            fresh.failed_logins, fresh.locked_until = state.failed_logins, state.locked_until
            if state.locked_until is not None:
                await audit.record(
                    db,
                    fresh.username,
                    fresh.role,
                    "login.locked",
                    "",
                    f"{config.lockout_threshold} failed logins",
                    {**data, "until": state.locked_until.isoformat()},
                )
                return LoginOutcome(LoginStatus.LOCKED, locked_until=state.locked_until)
            await audit.record(
                db, fresh.username, fresh.role, "login.failure", "", "bad password", data
            )
            return LoginOutcome(LoginStatus.BAD_CREDENTIALS)
        if replaces:
            await revoke(db, replaces, now)
        state = after_success()
        fresh.failed_logins, fresh.locked_until = state.failed_logins, state.locked_until
        secret, row = await open_session(db, fresh, now, config, client)
        await audit.record(db, fresh.username, fresh.role, "login.success", "", "", data)
        return LoginOutcome(LoginStatus.OK, secret, principal_of(row, fresh))


async def log_out(db: AsyncSession, principal: Principal, now: datetime) -> None:
    await revoke(db, principal.staff_session_id, now)
    await audit.record(db, principal.username, principal.role.value, "logout")
