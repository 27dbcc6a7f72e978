"""Fixtures for staff tests: a seeded site and a live server on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cbt_server.app import create_app
from cbt_server.auth.config import AuthConfig
from cbt_server.auth.web import configure
from cbt_server.settings import Settings
from tests.auth.factories import Site, seed_site
from tests.conftest import LiveServer, ServerFactory, free_port


@pytest.fixture
async def site(sessionmaker: async_sessionmaker[AsyncSession]) -> Site:
    return await seed_site(sessionmaker)


@pytest.fixture
async def staff_server(server_factory: ServerFactory, settings: Settings, site: Site) -> LiveServer:
    return await server_factory(settings)


@pytest.fixture
async def configured_server(
    settings: Settings, site: Site
) -> AsyncIterator[Callable[[AuthConfig], Awaitable[LiveServer]]]:
    """Start the full app with another AuthConfig (e.g. a tighter login rate limit)."""
    runners: list[web.AppRunner] = []

    async def start(config: AuthConfig) -> LiveServer:
        port = free_port()
        app = create_app(settings.replace(port=port))
        configure(app, config)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
        return LiveServer(f"http://127.0.0.1:{port}", app, runner)

    yield start
    for runner in runners:
        await runner.cleanup()
