"""Shared fixtures: settings → database URL → migrated engine → sessionmaker; live servers.

Data-layer tests take the `any_db_url` fixture and run on SQLite and, when
CBT_TEST_PG_URL is set (CI sets it), on PostgreSQL too, each test in a fresh database.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cbt_server.app import create_app
from cbt_server.db.engine import make_sessionmaker
from cbt_server.db.migrate import migrated_engine
from cbt_server.settings import Settings, load_settings

PG_URL_ENV = "CBT_TEST_PG_URL"

# `make mutation` runs every mutant against the same examples: a score then depends
# neither on the luck of the draw nor on examples an earlier mutant's run saved.
hypothesis_settings.register_profile("mutation", derandomize=True, database=None)


def free_port() -> int:
    """A port on 127.0.0.1 held for the server the test starts next, in this process or a
    child (which cannot be handed a socket).

    Binding port 0 and closing left a gap in which the kernel could give the same port
    to anyone else's `bind(0)` or outgoing connection before the server bound it. Here
    the port is left in TIME_WAIT by a connection closed from the listening side first:
    for a minute the kernel hands it to nobody, and only servers that bind with
    SO_REUSEADDR, as asyncio/aiohttp and PostgreSQL do, can take it."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = int(listener.getsockname()[1])
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = listener.accept()
            accepted.close()  # this side closes first: the port is the one in TIME_WAIT
            client.recv(1)  # the FIN has arrived
    return port


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_admin(base: str, statement: str) -> None:
    admin = await asyncpg.connect(_asyncpg_dsn(base))
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


_PG_DATABASES = pytest.StashKey[list[str]]()


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty PostgreSQL database for this test, dropped once the test and every
    fixture of it are torn down (see `pytest_runtest_teardown`)."""
    base = os.environ.get(PG_URL_ENV)
    if not base:
        pytest.skip(f"{PG_URL_ENV} is not set: PostgreSQL variant not run here (CI sets it)")
    name = f"cbt_t_{uuid.uuid4().hex[:16]}"
    # A sync fixture with its own short loop: async fixtures cannot be requested lazily.
    asyncio.run(_pg_admin(base, f'CREATE DATABASE "{name}"'))
    request.node.stash.setdefault(_PG_DATABASES, []).append(name)
    return make_url(base).set(database=name).render_as_string(hide_password=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    # Dropped after the fixtures, not in pg_url's own teardown: a server fixture set up
    # before pg_url is torn down after it, and dropping (WITH FORCE) its database while
    # it ran cut it off in the middle of its shutdown.
    try:
        return (yield)
    finally:
        base = os.environ.get(PG_URL_ENV)
        for name in item.stash.get(_PG_DATABASES, []):
            if base:
                asyncio.run(_pg_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'cbt.sqlite3'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database URL: SQLite, then PostgreSQL when CBT_TEST_PG_URL is set."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'cbt.sqlite3'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def settings(tmp_path: Path, any_db_url: str) -> Settings:
    return load_settings({}, data_dir=str(tmp_path / "data"), database_url=any_db_url)


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """The test's database, migrated (the first links of the sample exam chain)."""
    async with migrated_engine(settings) as engine:
        yield engine


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@dataclass
class LiveServer:
    base_url: str
    app: web.Application
    runner: web.AppRunner

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://", 1)


ServerFactory = Callable[..., Awaitable[LiveServer]]


@pytest.fixture
async def server_factory() -> AsyncIterator[ServerFactory]:
    """Start real servers (the full app) on free 127.0.0.1 ports; all stopped at the end."""
    runners: list[web.AppRunner] = []

    async def start(settings: Settings) -> LiveServer:
        port = free_port()
        app = create_app(settings.replace(host="127.0.0.1", port=port))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
        return LiveServer(f"http://127.0.0.1:{port}", app, runner)

    yield start
    for runner in reversed(runners):
        await runner.cleanup()


@pytest.fixture
async def live_server(server_factory: ServerFactory, settings: Settings) -> LiveServer:
    """One running server on the test's database."""
    return await server_factory(settings)
