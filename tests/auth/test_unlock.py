"""`cbt-server user unlock`, run as its own process beside a live server, lifts every
lock of the account at once: the server keeps none of them in its memory."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cbt_server.auth.config import AuthConfig
from cbt_server.db.models import AuditEntry, LoginLock, User
from cbt_server.settings import Settings
from tests.auth.factories import PASSWORD, new_client, try_login
from tests.conftest import LiveServer

Maker = async_sessionmaker[AsyncSession]


async def _unlock(settings: Settings, username: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cbt_server",
        "--data-dir", settings.data_dir, "--database-url", settings.database_url,
        "user", "unlock", "--username", username,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_unlock_from_another_process_lifts_every_lock_at_once(
    configured_server: Callable[[AuthConfig], Awaitable[LiveServer]],
    settings: Settings,
    sessionmaker: Maker,
) -> None:
    config = AuthConfig(login_attempts=5, lockout_threshold=2, account_lockout_threshold=4)
    base = (await configured_server(config)).base_url
    async with new_client(local_address="127.0.0.2") as http:
        assert [(await try_login(http, base, "leader", "x")).status for _ in range(2)] == [
            401,
            423,
        ]
    for n in (3, 4):
        async with new_client(local_address=f"127.0.0.{n}") as http:
            assert (await try_login(http, base, "leader", "x")).status in (401, 423)
    for n in (2, 5):  # locked from .2, and now everywhere
        async with new_client(local_address=f"127.0.0.{n}") as http:
            assert (await try_login(http, base, "leader", PASSWORD)).status == 423
    assert "unlocked" in await _unlock(settings, "leader")
    # At once, with no restart and no window to wait out: no limiter answers 429.
    for n in (2, 5):
        async with new_client(local_address=f"127.0.0.{n}") as http:
            assert (await try_login(http, base, "leader", PASSWORD)).status == 303
    async with sessionmaker() as db:
        assert list(await db.scalars(select(LoginLock))) == []
        entry = await db.scalar(select(AuditEntry).where(AuditEntry.action == "user.unlock"))
        locked = list(await db.scalars(select(AuditEntry.data).where(
            AuditEntry.action == "login.locked")))  # fmt: skip
    assert entry is not None and entry.target == "user:leader"
    assert entry.data == {"account_locked": True, "addresses_locked": ["127.0.0.2"]}
    assert sorted(d["scope"] for d in locked) == ["account", "address"]


async def test_after_an_unlock_the_count_starts_afresh(
    configured_server: Callable[[AuthConfig], Awaitable[LiveServer]],
    settings: Settings,
) -> None:
    base = (await configured_server(AuthConfig(lockout_threshold=3))).base_url
    async with new_client() as http:
        assert [(await try_login(http, base, "proctor", "x")).status for _ in range(2)] == [401] * 2
        await _unlock(settings, "proctor")
        statuses = [(await try_login(http, base, "proctor", "x")).status for _ in range(3)]
        assert statuses == [401, 401, 423]


async def test_parallel_failures_are_each_counted_once(
    configured_server: Callable[[AuthConfig], Awaitable[LiveServer]],
    sessionmaker: Maker,
) -> None:
    """Failures racing each other (on PostgreSQL, as on several worker processes) are
    counted one after another under the account's row lock: none is lost."""
    config = AuthConfig(login_attempts=100, lockout_threshold=100, account_lockout_threshold=100)
    base = (await configured_server(config)).base_url

    async def fail(n: int) -> int:
        async with new_client(local_address=f"127.0.0.{2 + n % 2}") as http:
            return (await try_login(http, base, "supervisor", f"guess {n}")).status

    assert await asyncio.gather(*(fail(n) for n in range(8))) == [401] * 8
    async with sessionmaker() as db:
        counts = dict(
            (row.address, row.failed_logins) for row in await db.scalars(select(LoginLock))
        )
        user = await db.scalar(select(User).where(User.username == "supervisor"))
    assert counts == {"127.0.0.2": 4, "127.0.0.3": 4}
    assert user is not None and user.failed_logins == 8
