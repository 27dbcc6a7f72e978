"""Server-side staff sessions: a random cookie secret maps to a revocable row.

The cookie carries 256 random bits; the table keeps only their SHA-256, so reading the
database gives nobody a usable cookie. A session ends on logout, after
`session_idle_seconds` without use, `session_max_seconds` after sign-in, or when the
account is disabled.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.auth.config import AuthConfig
from cbt_server.auth.policy import Role
from cbt_server.auth.principal import Principal
from cbt_server.db.models import StaffSession, User
from cbt_server.errors import NotAuthenticated

ROLE_NAMES = frozenset(role.value for role in Role)
TOUCH_AFTER = timedelta(seconds=60)
"""last_seen_at is written at most this often (not on every request)."""


def session_id_of(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def principal_of(row: StaffSession, user: User) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name or user.username,
        role=Role(user.role),
        staff_session_id=row.id,
        csrf_token=row.csrf_token,
    )


async def open_session(
    db: AsyncSession, user: User, now: datetime, config: AuthConfig, client: str = ""
) -> tuple[str, StaffSession]:
    """Start a session for `user`; returns the cookie secret (its only copy) and the row."""
    secret = secrets.token_urlsafe(32)
    row = StaffSession(
        id=session_id_of(secret),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=config.session_max_seconds),
        client=client[:256],
    )
    db.add(row)
    await db.flush()
    return secret, row


def _alive(row: StaffSession, user: User, now: datetime, config: AuthConfig) -> bool:
    if row.revoked_at is not None or user.disabled or now >= row.expires_at:
        return False
    if user.role not in ROLE_NAMES:
        return False
    return now < row.last_seen_at + timedelta(seconds=config.session_idle_seconds)


async def find_by_id(
    db: AsyncSession, staff_session_id: str, now: datetime, config: AuthConfig
) -> Principal | None:
    """The principal of a live session row, touching its last use; None if it has ended."""
    found = (
        await db.execute(
            select(StaffSession, User)
            .join(User, User.id == StaffSession.user_id)
            .where(StaffSession.id == staff_session_id)
        )
    ).first()
    if found is None:
        return None
    row, user = found
    if not _alive(row, user, now, config):
        return None
    if now - row.last_seen_at >= TOUCH_AFTER:
        await db.execute(
            update(StaffSession).where(StaffSession.id == row.id).values(last_seen_at=now)
        )
    return principal_of(row, user)


async def find_session(
    db: AsyncSession, secret: str, now: datetime, config: AuthConfig
) -> Principal | None:
    """The principal for a cookie secret, or None if unknown or ended."""
    if not secret or len(secret) > 256:
        return None
    return await find_by_id(db, session_id_of(secret), now, config)


async def ensure_alive(db: AsyncSession, principal: Principal, now: datetime) -> None:
    """Raise NotAuthenticated if the principal's session was revoked or has expired, or
    the account was disabled, since it was read (for long-lived console connections)."""
    found = (
        await db.execute(
            select(StaffSession.revoked_at, StaffSession.expires_at, User.disabled)
            .join(User, User.id == StaffSession.user_id)
            .where(StaffSession.id == principal.staff_session_id)
        )
    ).first()
    if found is None:
        raise NotAuthenticated("your staff session has ended; sign in again")
    revoked_at, expires_at, disabled = found
    if revoked_at is not None or disabled or now >= expires_at:
        raise NotAuthenticated(
            "your staff session has ended (signed out or expired); sign in again"
        )


async def revoke(db: AsyncSession, staff_session_id: str, now: datetime) -> None:
    await db.execute(
        update(StaffSession)
        .where(StaffSession.id == staff_session_id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def revoke_all(db: AsyncSession, user_id: int, now: datetime) -> None:
    """End every session of a user (password change, account disabled)."""
    await db.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user_id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
