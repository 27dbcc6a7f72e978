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
from cbt_server.auth.lockout import LockState, after_failure, is_locked
from cbt_server.auth.principal import Principal
from cbt_server.auth.sessions import open_session, principal_of, revoke
from cbt_server.db.models import LoginLock, User

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
    lock_scope: str = ""
    """`address` (locked from this client address only) or `account` (everywhere)."""


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
    lock_scope: str = "",
) -> LoginOutcome:
    async with maker.begin() as db:
        await audit.record(db, actor, role, action, "", reason, data)
    return LoginOutcome(status, locked_until=locked_until, lock_scope=lock_scope)


def _address(address: str) -> str:
    return address.strip()[:64] or "?"


async def _address_lock(db: AsyncSession, user_id: int, address: str) -> LoginLock:
    row = await db.get(LoginLock, (user_id, address), populate_existing=True)
    return row or LoginLock(user_id=user_id, address=address, failed_logins=0, locked_until=None)


def _lock_of(user: User, row: LoginLock, now: datetime) -> tuple[str, datetime] | None:
    """Which lock holds (`address` or `account`) and until when, or None."""
    if is_locked(row.locked_until, now):
        assert row.locked_until is not None
        return "address", row.locked_until
    if is_locked(user.locked_until, now):
        assert user.locked_until is not None
        return "account", user.locked_until
    return None


async def _count_failure(
    db: AsyncSession, user: User, row: LoginLock, now: datetime, config: AuthConfig
) -> tuple[str, datetime] | None:
    """Count a wrong password against the account from this address and against the
    account as a whole; the lock this failure set, if it set one."""
    here = after_failure(LockState(row.failed_logins, row.locked_until), now, config.address_rule)
    row.failed_logins, row.locked_until = here.failed_logins, here.locked_until
    db.add(row)
    overall = after_failure(
        LockState(user.failed_logins, user.locked_until, user.failures_since),
        now,
        config.account_rule,
    )
    user.failed_logins, user.locked_until = overall.failed_logins, overall.locked_until
    user.failures_since = overall.since
    if overall.locked_until is not None:
        return "account", overall.locked_until
    if here.locked_until is not None:
        return "address", here.locked_until
    return None


async def log_in(
    maker: async_sessionmaker[AsyncSession],
    username: str,
    password: str,
    now: datetime,
    config: AuthConfig,
    client: str = "",
    replaces: str | None = None,
    address: str = "",
) -> LoginOutcome:
    """Check a username and password; on success open a session. Audited either way.

    The argon2 check (about half a second of CPU) runs in a worker thread and outside any
    transaction, so a staff login neither stalls the event loop nor holds the database
    write lock while candidates' answers are being saved. `replaces` is the id of a
    session this browser had, ended when the new sign-in succeeds. `address` is the
    client's address: failures lock the account from that address only, unless so many
    come from everywhere that the account-wide limit locks it (auth/lockout.py).
    """
    name = username.strip()
    where = _address(address)
    data: dict[str, Any] = {"client": client[:256], "address": where}
    user, row = None, None
    if 0 < len(name) <= 64:
        async with maker() as db:
            user = await db.scalar(select(User).where(User.username == name))
            row = await _address_lock(db, user.id, where) if user is not None else None
    if user is None or user.disabled or row is None:
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
    held = _lock_of(user, row, now)
    if held is not None:
        return await _refuse(
            maker,
            LoginStatus.LOCKED,
            user.username,
            user.role,
            "login.refused",
            "locked",
            {**data, "scope": held[0]},
            held[1],
            held[0],
        )
    good = await asyncio.to_thread(verify_password, user.password_hash, password)
    async with maker.begin() as db:
        # The account's row, locked (PostgreSQL) so that parallel attempts on several
        # worker processes count their failures one after another.
        fresh = await db.scalar(
            select(User)
            .where(User.id == user.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if fresh is None or fresh.disabled:
            return LoginOutcome(LoginStatus.BAD_CREDENTIALS)
        row = await _address_lock(db, fresh.id, where)
        held = _lock_of(fresh, row, now)
        if held is not None:  # locked by a parallel attempt meanwhile
            await audit.record(
                db,
                fresh.username,
                fresh.role,
                "login.refused",
                "",
                "locked",
                {**data, "scope": held[0]},
            )
            return LoginOutcome(LoginStatus.LOCKED, locked_until=held[1], lock_scope=held[0])
        if not good:
            locked = await _count_failure(db, fresh, row, now, config)
            if locked is not None:
                scope, until = locked
                threshold = (
                    f"{config.account_lockout_threshold} failed logins from any address"
                    if scope == "account"
                    else f"{config.lockout_threshold} failed logins from {where}"
                )
                await audit.record(
                    db,
                    fresh.username,
                    fresh.role,
                    "login.locked",
                    "",
                    threshold,
                    {**data, "scope": scope, "until": until.isoformat()},
                )
                return LoginOutcome(LoginStatus.LOCKED, locked_until=until, lock_scope=scope)
            await audit.record(
                db, fresh.username, fresh.role, "login.failure", "", "bad password", data
            )
            return LoginOutcome(LoginStatus.BAD_CREDENTIALS)
        if replaces:
            await revoke(db, replaces, now)
        if row.failed_logins or row.locked_until:
            await db.delete(row)  # a success from this address clears its count
        fresh.locked_until = None  # an account-wide lock, if any, has run out
        secret, session_row = await open_session(db, fresh, now, config, client)
        await audit.record(db, fresh.username, fresh.role, "login.success", "", "", data)
        return LoginOutcome(LoginStatus.OK, secret, principal_of(session_row, fresh))


async def log_out(db: AsyncSession, principal: Principal, now: datetime) -> None:
    await revoke(db, principal.staff_session_id, now)
    await audit.record(db, principal.username, principal.role.value, "logout")
