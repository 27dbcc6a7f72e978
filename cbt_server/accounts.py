"""Staff accounts: lab administrators, proctors and quality supervisors.

Passwords are hashed with argon2id (argon2-cffi defaults).
"""

from __future__ import annotations

from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.auth.policy import Role
from cbt_server.db.models import LoginLock, User
from cbt_server.enrolment.fields import check_code, check_name
from cbt_server.errors import Conflict, InvalidInput, NotFound

ROLES = tuple(role.value for role in Role)
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


async def create_user(
    session: AsyncSession, username: str, password: str, role: str, display_name: str = ""
) -> User:
    username = check_code("username", username)
    display_name = check_name("display name", display_name)
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if await session.scalar(select(User).where(User.username == username)) is not None:
        raise Conflict(f"user {username!r} exists already")
    user = User(
        username=username,
        role=role,
        display_name=display_name or username,
        password_hash=hash_password(password),
    )
    session.add(user)
    await session.flush()
    return user


async def list_users(session: AsyncSession) -> list[User]:
    """Every staff account, by role, then username."""
    return list(await session.scalars(select(User).order_by(User.role, User.username)))


async def address_locks(session: AsyncSession, now: datetime) -> dict[int, list[str]]:
    """The client addresses each account is locked from at `now`, by user id."""
    rows = await session.execute(
        select(LoginLock.user_id, LoginLock.address)
        .where(LoginLock.locked_until > now)
        .order_by(LoginLock.user_id, LoginLock.address)
    )
    locks: dict[int, list[str]] = {}
    for user_id, address in rows:
        locks.setdefault(user_id, []).append(address)
    return locks


async def unlock_user(session: AsyncSession, username: str, actor: str = "cli") -> None:
    """Lift every lockout of an account after failed logins, from every address and
    account-wide, and forget its failure counts (audited). The server reads these from
    the database at each sign-in, so this holds at once in every worker process."""
    user = await session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    locks = list(await session.scalars(select(LoginLock).where(LoginLock.user_id == user.id)))
    addresses = sorted(lock.address for lock in locks if lock.locked_until is not None)
    await session.execute(delete(LoginLock).where(LoginLock.user_id == user.id))
    was_locked = user.locked_until is not None
    user.failed_logins, user.locked_until, user.failures_since = 0, None, None
    await audit.record(
        session,
        actor,
        "",
        "user.unlock",
        f"user:{user.username}",
        "",
        {"account_locked": was_locked, "addresses_locked": addresses},
    )
