"""The kiosk's command line run by a real Chromium (headless, as a check of the switches,
not of kiosk mode itself): the exam server's page loads, another site does not, a
typed IP address and the PC's own localhost services included."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from lab_agent import kiosk
from tests.candidate_web.conftest import CHROMIUM
from tests.conftest import free_port

pytestmark = pytest.mark.browser


async def _site(text: str, host: str) -> tuple[web.AppRunner, str]:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text=f"<html><body>{text}</body></html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, host, port).start()
    return runner, f"http://{host}:{port}/"


@pytest.fixture
async def sites() -> AsyncIterator[tuple[str, str, str]]:
    exam, exam_url = await _site("EXAM PAGE", "127.0.0.1")
    other, other_url = await _site("OTHER SITE", "127.0.0.3")
    local, local_url = await _site("LOCAL SERVICE", "127.0.0.1")
    yield exam_url, other_url, local_url
    for runner in (exam, other, local):
        await runner.cleanup()


async def dump(command: list[str], url: str) -> str:
    """The DOM Chromium gets for `url` with the kiosk's switches (headless instead of
    kiosk: there is no screen here)."""
    switches = [a for a in command[1:-1] if a != "--kiosk"]
    proc = await asyncio.create_subprocess_exec(
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        *switches,
        "--dump-dom",
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return out.decode(errors="replace")


async def test_only_the_exam_server_loads(sites: tuple[str, str, str]) -> None:
    exam_url, other_url, local_url = sites
    with tempfile.TemporaryDirectory() as profile:
        found = kiosk.Found("chromium", CHROMIUM)
        command = kiosk.command_line(found, kiosk.exam_url(exam_url, None), profile)
        assert "EXAM PAGE" in await dump(command, command[-1])
        assert "OTHER SITE" not in await dump(command, other_url)
        assert "LOCAL SERVICE" not in await dump(command, local_url)
