"""Fixtures for the fault tests: a prepared room, the server as a child process to kill,
simulated candidate pages, and a PostgreSQL cluster of the test's own to stop."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cbt_server.settings import Settings, load_settings
from tests.conftest import free_port
from tests.faults.linkproxy import LinkProxy
from tests.faults.page import PageCandidate, pick
from tests.faults.pgcluster import PgCluster, find_bindir
from tests.faults.serverproc import ServerProcess, server_env
from tests.runtime.exam_setup import Exam, prepare_database
from tests.runtime.wsclient import command, proctor_open


@dataclass
class Room:
    """A prepared exam (one session, its candidates) and the server that runs it."""

    settings: Settings
    exam: Exam
    server: ServerProcess
    cluster: PgCluster | None = None
    pages: list[PageCandidate] = field(default_factory=list)

    def page_for(self, index: int, *, ws_url: str | None = None, **kwargs: Any) -> PageCandidate:
        person = self.exam.people[index]
        page = PageCandidate(
            ws_url or self.server.ws_url,
            person.ticket,
            person.id_number,
            seat=kwargs.pop("seat", person.seat),
            name=f"seat{person.seat}",
            **kwargs,
        )
        self.pages.append(page)
        return page

    async def proctor(self, kind: str, **fields: Any) -> None:
        """One proctor command from a fresh console connection."""
        client, _ = await proctor_open(
            self.server.ws_url, self.exam.proctor_cookie, self.exam.session_id
        )
        try:
            await command(client, kind, **fields)
        finally:
            await client.close()


RoomFactory = Callable[..., Awaitable[Room]]
LinkFactory = Callable[[int], Awaitable[LinkProxy]]


@pytest.fixture
async def link_factory() -> AsyncIterator[LinkFactory]:
    """Cuttable links (TCP relays) to a port; all closed at the end."""
    links: list[LinkProxy] = []

    async def make(port: int) -> LinkProxy:
        link = LinkProxy(port)
        await link.start()
        links.append(link)
        return link

    yield make
    for link in links:
        await link.close()


@pytest.fixture
async def room_factory(tmp_path: Path) -> AsyncIterator[RoomFactory]:
    """Make a room on SQLite, or on a PostgreSQL cluster of the room's own (about a
    second to make; the test may stop it). Servers, pages and clusters are stopped at
    the end, by pid."""
    rooms: list[Room] = []
    clusters: list[PgCluster] = []

    async def make(
        backend: str = "sqlite",
        *,
        candidates: int = 30,
        duration_s: int = 90 * 60,
        env: dict[str, str] | None = None,
    ) -> Room:
        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / 'cbt.sqlite3'}"
            cluster = None
        else:
            bindir = find_bindir()
            if bindir is None:
                pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
            cluster = PgCluster(bindir)
            clusters.append(cluster)
            await cluster.create()
            url = await cluster.create_database(f"cbt_fault_{uuid.uuid4().hex[:8]}")
        data_dir = tmp_path / "data"
        # FULL (the default) is what a site runs: an acknowledged answer survives power loss.
        settings = load_settings({}, data_dir=str(data_dir), database_url=url)
        exam = await prepare_database(settings, candidates=candidates, duration_s=duration_s)
        server = ServerProcess(
            server_env(data_dir=data_dir, database_url=url, extra=env),
            free_port(),
            tmp_path / "server.log",
        )
        room = Room(settings, exam, server, cluster)
        rooms.append(room)
        return room

    yield make
    for room in rooms:
        for page in room.pages:
            with contextlib.suppress(Exception):
                await page.stop()
        await room.server.close()
    for cluster in clusters:
        await cluster.destroy()


async def open_room(
    room: Room, count: int | None = None, ws_urls: dict[int, str] | None = None, **page_args: Any
) -> None:
    """Start the server, log every candidate in, start the session, wait for papers.
    `ws_urls` routes some candidates (by index) through a link of their own."""
    if not room.server.running:
        await room.server.start()
    people = range(len(room.exam.people) if count is None else count)
    links = ws_urls or {}
    pages = [room.page_for(i, ws_url=links.get(i), **page_args) for i in people]
    for page in pages:
        page.start()
    await asyncio.gather(*(p.until_logins(1, limit_s=60) for p in pages))
    await room.proctor("start")
    await asyncio.gather(*(p.until_paper(limit_s=60) for p in pages))


async def keep_answering(
    page: PageCandidate, stop: asyncio.Event, seed: int, think: tuple[float, float] = (0.3, 1.0)
) -> None:
    """A candidate working through the paper, changing their mind now and then, online
    or not (the page queues answers while the link is down), until `stop` is set."""
    rng = random.Random(seed)
    while not stop.is_set():
        if page.paper and not page.submitted:
            item = rng.choice(page.paper)
            page.answer(item["item_id"], pick(item, rng.randrange(6)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=rng.uniform(*think))
