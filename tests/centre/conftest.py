"""A real centre (SQLite, and PostgreSQL when CBT_TEST_PG_URL is set) and two real SQLite
sites, with a signed-in centre administrator and the centre's copy of the item bank."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cbt_server.accounts import create_user
from cbt_server.centre.app import create_centre_app
from cbt_server.item_store import store_items
from cbt_server.keys import CIPHER, SESSIONMAKER
from cbt_server.settings import Settings, load_settings
from cbt_server.tokens import create_token
from item_bank.model import Item, Option
from tests.auth.factories import new_client, try_login
from tests.centre.papers_kit import Clock
from tests.conftest import LiveServer, ServerFactory, free_port
from tests.results.seed import Seeder

PASSWORD = "centre-password-42"
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def bank_items(count: int = 100) -> list[Item]:
    """The items the seeded results answer (tests.results.seed): key A, single choice."""
    return [
        Item(
            id=f"electrician-3-{n:04d}",
            type="single",
            stem=f"试题 {n}",
            key=("A",),
            options=tuple(Option(id=o, text=f"选项 {o}") for o in "ABCD"),
            occupation="electrician",
            level=3,
            knowledge_point="kp",
            difficulty=3,
        )
        for n in range(count)
    ]


@dataclass
class SiteServer:
    code: str
    server: LiveServer
    token: str
    seed: Seeder

    @property
    def url(self) -> str:
        return self.server.base_url

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        return self.server.app[SESSIONMAKER]


@dataclass
class Centre:
    base_url: str
    app: web.Application
    http: aiohttp.ClientSession
    csrf: str

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        return self.app[SESSIONMAKER]

    async def get(self, path: str, **params: str) -> tuple[int, Any]:
        async with self.http.get(self.base_url + path, params=params) as resp:
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, await resp.read()

    async def post(self, path: str, data: dict[str, str] | None = None) -> tuple[int, Any]:
        form = {"csrf_token": self.csrf, **(data or {})}
        async with self.http.post(self.base_url + path, data=form, allow_redirects=False) as resp:
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, await resp.text()

    async def pull(self) -> dict[str, dict[str, Any]]:
        status, body = await self.post("/centre/api/pull")
        assert status == 200, body
        return {report["site"]: report for report in body["sites"]}

    async def add_site(self, site: SiteServer) -> str:
        status, page = await self.post(
            "/centre/sites", {"code": site.code, "url": site.url, "token": site.token}
        )
        assert status == 201, page
        found = re.search(r"data-site-token>([^<]+)<", page)
        assert found
        return found.group(1)


@pytest.fixture
async def make_site(server_factory: ServerFactory, tmp_path: Path) -> Any:
    sites_made: list[str] = []

    async def start(code: str) -> SiteServer:
        settings = load_settings(
            {},
            data_dir=str(tmp_path / code),
            database_url=f"sqlite+aiosqlite:///{tmp_path / (code + '.sqlite3')}",
        )
        (tmp_path / code).mkdir()
        server = await server_factory(settings)
        async with server.app[SESSIONMAKER].begin() as db:
            token = (await create_token(db, "city-centre", "results:read")).secret
        # Each site's candidates get other ID-card numbers (the seeder numbers people
        # from its count): a test joins people across sites on purpose, not by accident.
        seeder = Seeder(server.app[SESSIONMAKER], _count=500 * len(sites_made))
        sites_made.append(code)
        return SiteServer(code, server, token, seeder)

    return start


@pytest.fixture
def centre_settings(tmp_path: Path, any_db_url: str) -> Settings:
    # A long interval: the tests pull through POST /centre/api/pull, the schedule's own
    # test sets a short one.
    return load_settings(
        {},
        data_dir=str(tmp_path / "centre"),
        database_url=any_db_url,
        centre_pull_seconds=3600,
    )


async def start_centre(
    settings: Settings, runners: list[web.AppRunner]
) -> tuple[str, web.Application]:
    port = free_port()
    app = create_centre_app(settings.replace(host="127.0.0.1", port=port))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    runners.append(runner)
    return f"http://127.0.0.1:{port}", app


@pytest.fixture
async def centre(centre_settings: Settings) -> Any:
    runners: list[web.AppRunner] = []
    base, app = await start_centre(centre_settings, runners)
    async with app[SESSIONMAKER].begin() as db:
        await create_user(db, "admin", PASSWORD, "centre_admin", "中心管理员")
        await create_user(db, "viewer", PASSWORD, "centre_viewer", "中心查看员")
        await store_items(db, app[CIPHER], bank_items())
    http = new_client()
    response = await try_login(http, base, "admin", PASSWORD)
    assert response.status == 303, response.status
    async with http.get(base + "/centre") as resp:
        assert resp.status == 200, await resp.text()
        found = _CSRF_META.search(await resp.text())
    assert found
    yield Centre(base, app, http, found.group(1))
    await http.close()
    for runner in reversed(runners):
        await runner.cleanup()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Requested before `centre`: the centre app is made with this clock."""
    made = Clock()
    monkeypatch.setattr("cbt_server.centre.app.utcnow", made)
    return made
