"""Fixtures for the exam runtime: a prepared exam database and real servers running it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from cbt_server import runtime
from cbt_server.app import create_app
from cbt_server.auth import routes as auth_routes
from cbt_server.keys import AUTH_CONFIG
from cbt_server.settings import Settings, load_settings
from tests.conftest import LiveServer, free_port
from tests.runtime.exam_setup import Exam, prepare_database

ExamServerFactory = Callable[[Settings], Awaitable[LiveServer]]


def mount(app: web.Application) -> web.Application:
    """The exam runtime and staff sign-in on the app (no-ops where create_app did it)."""
    if AUTH_CONFIG not in app:
        auth_routes.setup(app)
    runtime.setup(app)
    return app


@pytest.fixture
async def exam_server_factory() -> AsyncIterator[ExamServerFactory]:
    runners: list[web.AppRunner] = []

    async def start(settings: Settings) -> LiveServer:
        port = free_port()
        app = mount(create_app(settings.replace(host="127.0.0.1", port=port)))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
        return LiveServer(f"http://127.0.0.1:{port}", app, runner)

    yield start
    for runner in reversed(runners):
        if runner.server is not None:  # not stopped by the test already
            await runner.cleanup()


@pytest.fixture
def sqlite_settings(tmp_path: Path, sqlite_url: str) -> Settings:
    # NORMAL keeps the suite quick; FULL (the default) is what the fault tests use.
    return load_settings(
        {},
        data_dir=str(tmp_path / "data"),
        database_url=sqlite_url,
        sqlite_synchronous="NORMAL",
    )


@pytest.fixture
async def exam(sqlite_settings: Settings) -> Exam:
    return await prepare_database(sqlite_settings, candidates=4)


@pytest.fixture
async def server(
    exam_server_factory: ExamServerFactory, sqlite_settings: Settings, exam: Exam
) -> LiveServer:
    return await exam_server_factory(sqlite_settings)
