"""Browser tests of the candidate page against a real server with a prepared exam.

The demo exam (sample bank, session DEMO-01, 30 candidates, a proctor assigned to it) is
prepared once per test run and copied for each test. Each test gets a real server on a
free port, a proctor console on /ws/proctor (the `websockets` package, signed in with a
staff session cookie) and headless Chromium driven by async Playwright.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import websockets
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, async_playwright
from sqlalchemy import select, update

from cbt_server import runtime
from cbt_server.app import create_app
from cbt_server.auth.config import AuthConfig
from cbt_server.auth.sessions import open_session
from cbt_server.db import models
from cbt_server.demo import PROCTOR, SESSION_CODE, prepare_demo
from cbt_server.keys import SESSIONMAKER
from cbt_server.settings import Settings, load_settings
from tests.conftest import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
VIEWPORT = ViewportSize(width=1024, height=768)
# Console noise that is expected when a test cuts the network on purpose.
EXPECTED_CONSOLE = re.compile(r"WebSocket connection to .* failed|ERR_INTERNET_DISCONNECTED")


@dataclass(frozen=True)
class Person:
    ticket: str
    id_number: str
    name: str
    seat: int


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Person]]:
    """The demo exam prepared once: a data folder (SQLite file + content key) to copy."""
    folder = tmp_path_factory.mktemp("demo-template")
    credentials = prepare_demo(load_settings({}, data_dir=str(folder)))
    data = json.loads(credentials.read_text(encoding="utf-8"))
    people = [Person(**c) for c in data["candidates"]]
    return folder, people


@dataclass
class ExamServer:
    base_url: str
    app: web.Application
    people: list[Person]
    settings: Settings

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://", 1)

    async def exam_session(self) -> models.ExamSession:
        async with self.app[SESSIONMAKER]() as db:
            exam = await db.scalar(
                select(models.ExamSession).where(models.ExamSession.code == SESSION_CODE)
            )
            assert exam is not None
            return exam

    async def set_session(self, **values: Any) -> None:
        """Change the prepared session before it starts (duration, show_scores...)."""
        async with self.app[SESSIONMAKER].begin() as db:
            await db.execute(
                update(models.ExamSession)
                .where(models.ExamSession.code == SESSION_CODE)
                .values(**values)
            )

    async def stored_answers(self, ticket: str) -> dict[str, list[str]]:
        """item id -> response as committed in the database (non-empty ones)."""
        async with self.app[SESSIONMAKER]() as db:
            rows = await db.scalars(
                select(models.Answer)
                .join(models.Candidate, models.Candidate.id == models.Answer.candidate_id)
                .where(models.Candidate.ticket == ticket)
            )
            return {row.item_id: list(row.response) for row in rows if row.response}

    async def stored_flags(self, ticket: str) -> set[str]:
        async with self.app[SESSIONMAKER]() as db:
            rows = await db.scalars(
                select(models.Answer)
                .join(models.Candidate, models.Candidate.id == models.Answer.candidate_id)
                .where(models.Candidate.ticket == ticket)
            )
            return {row.item_id for row in rows if row.flagged}

    async def candidate_id(self, ticket: str) -> int:
        async with self.app[SESSIONMAKER]() as db:
            found = await db.scalar(
                select(models.Candidate.id).where(models.Candidate.ticket == ticket)
            )
            assert found is not None
            return int(found)

    async def result(self, ticket: str) -> models.Result | None:
        async with self.app[SESSIONMAKER]() as db:
            return await db.scalar(
                select(models.Result)
                .join(models.Candidate, models.Candidate.id == models.Result.candidate_id)
                .where(models.Candidate.ticket == ticket)
            )

    async def staff_cookie(self, username: str = PROCTOR) -> str:
        async with self.app[SESSIONMAKER].begin() as db:
            user = await db.scalar(select(models.User).where(models.User.username == username))
            assert user is not None
            secret, _ = await open_session(db, user, datetime.now(UTC), AuthConfig())
        return secret


@pytest.fixture
def front_port() -> int | None:
    """A port that forwards to the server (a test's relay), whose origin the browser then
    sends: one of the site's public origins, as a port forward in front of a real site
    must be. None: the browser talks to the server directly."""
    return None


@pytest.fixture
async def exam_server(
    demo_template: tuple[Path, list[Person]], tmp_path: Path, front_port: int | None
) -> AsyncIterator[ExamServer]:
    """A real server (the full app with the exam runtime) on a copy of the demo exam."""
    template, people = demo_template
    data = tmp_path / "data"
    shutil.copytree(template, data)
    port = free_port()
    fronts = (f"http://127.0.0.1:{front_port}",) if front_port else ()
    settings = load_settings(
        {}, data_dir=str(data), host="127.0.0.1", port=port, public_origins=fronts
    )
    app = create_app(settings)
    runtime.setup(app)  # idempotent: a no-op once create_app mounts the runtime itself
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield ExamServer(f"http://127.0.0.1:{port}", app, people, settings)
    finally:
        await runner.cleanup()


@dataclass
class Proctor:
    """A room console on /ws/proctor: sends commands and waits for their ack."""

    ws: Any
    seq: int = 0
    acks: dict[int, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    reader: asyncio.Task[None] | None = None

    async def command(self, type_: str, **fields: Any) -> dict[str, Any]:
        self.seq += 1
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.acks[self.seq] = waiter
        await self.ws.send(json.dumps({"type": type_, "seq": self.seq, **fields}))
        reply = await asyncio.wait_for(waiter, timeout=15)
        if reply["type"] != "ack":
            raise AssertionError(f"proctor command {type_} refused: {reply}")
        return reply

    async def read(self) -> None:
        async for frame in self.ws:
            message = json.loads(frame)
            ref = message.get("seq") if message["type"] == "ack" else message.get("ref_seq")
            if message["type"] in ("ack", "error") and ref in self.acks:
                waiter = self.acks.pop(ref)
                if not waiter.done():
                    waiter.set_result(message)


@pytest.fixture
async def console(exam_server: ExamServer) -> AsyncIterator[Proctor]:
    """The proctor's console for DEMO-01 (the session still scheduled)."""
    cookie = await exam_server.staff_cookie()
    exam = await exam_server.exam_session()
    async with websockets.connect(
        exam_server.ws_url + "/ws/proctor",
        subprotocols=[websockets.Subprotocol("cbt.v1")],
        additional_headers={"Cookie": f"cbt_staff={cookie}"},
        open_timeout=10,
    ) as ws:
        await ws.send(json.dumps({"type": "hello", "protocol": "cbt.v1", "session_id": exam.id}))
        room = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        assert room["type"] == "room", room
        room_console = Proctor(ws)
        room_console.reader = asyncio.create_task(room_console.read())
        try:
            yield room_console
        finally:
            room_console.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await room_console.reader


@pytest.fixture
async def proctor(console: Proctor) -> Proctor:
    """The proctor's console for DEMO-01, with check-in already opened."""
    await console.command("open_checkin")
    return console


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@dataclass
class Screens:
    """Saves the screens a test passes through under artifacts/screenshots/<test>/."""

    folder: Path
    count: int = 0

    async def shot(self, page: Page, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        await page.screenshot(path=str(path))
        return path


@pytest.fixture
def screens(request: pytest.FixtureRequest) -> Iterator[Screens]:
    name = re.sub(r"[^\w-]+", "_", request.node.name).strip("_")
    folder = SCREENSHOTS / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    yield Screens(folder)


@dataclass
class PageWatch:
    """Console errors and uncaught exceptions of the pages of one browser context."""

    problems: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.problems.append(f"pageerror: {error}"))
        page.on(
            "console",
            lambda message: (
                self.problems.append(f"console: {message.text}")
                if message.type == "error" and not EXPECTED_CONSOLE.search(message.text)
                else None
            ),
        )


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[tuple[BrowserContext, PageWatch]]:
    """A fresh browser profile (empty cache and storage) at 1024×768, watched for errors.

    The test fails if a page logged an error (a CSP violation is one) or threw.
    """
    ctx = await browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    watch = PageWatch()
    ctx.on("page", watch.attach)
    try:
        yield ctx, watch
    finally:
        await ctx.close()
    assert watch.problems == []
