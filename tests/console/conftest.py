"""Fixtures for console tests: a prepared exam room and a live server running it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from cbt_server.settings import Settings
from tests.candidate_web.conftest import (  # the candidate page's fixtures, reused
    browser,
    context,
    demo_template,
    exam_server,
    front_port,
    screens,
)
from tests.conftest import LiveServer, free_port
from tests.console.room import Room, prepare_room, room_app

__all__ = ["browser", "context", "demo_template", "exam_server", "front_port", "screens"]


@pytest.fixture
def room_settings(settings: Settings) -> Settings:
    # NORMAL keeps the suite quick; durability is the fault tests' subject.
    return settings.replace(sqlite_synchronous="NORMAL")


@pytest.fixture
async def room(room_settings: Settings) -> Room:
    return await prepare_room(room_settings)


@pytest.fixture
async def room_server(room_settings: Settings, room: Room) -> AsyncIterator[LiveServer]:
    port = free_port()
    app = room_app(room_settings.replace(host="127.0.0.1", port=port))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield LiveServer(f"http://127.0.0.1:{port}", app, runner)
    await runner.cleanup()
