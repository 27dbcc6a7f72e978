"""A live site server with tokens and a seeder, on SQLite and (when set up) PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cbt_server.keys import SESSIONMAKER
from cbt_server.tokens import create_token
from tests.conftest import LiveServer
from tests.results.seed import Seeder


@dataclass
class Site:
    server: LiveServer
    sessionmaker: async_sessionmaker[AsyncSession]
    token: str
    lab_token: str
    seed: Seeder

    @property
    def url(self) -> str:
        return self.server.base_url

    async def get(
        self, path: str, params: dict[str, str] | None = None, token: str | None = "default"
    ) -> tuple[int, Any, aiohttp.typedefs.LooseHeaders]:
        """GET path; (status, parsed JSON or raw bytes, headers)."""
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {self.token if token == 'default' else token}"
        async with (
            aiohttp.ClientSession() as http,
            http.get(self.url + path, params=params, headers=headers) as resp,
        ):
            if resp.content_type == "application/json":
                return resp.status, await resp.json(), resp.headers
            return resp.status, await resp.read(), resp.headers

    async def page(self, **params: str) -> dict[str, Any]:
        status, body, _ = await self.get("/api/v1/results", params)
        assert status == 200, body
        return dict(body)


@pytest.fixture
async def site(live_server: LiveServer) -> Site:
    sessionmaker = live_server.app[SESSIONMAKER]
    async with sessionmaker.begin() as db:
        token = (await create_token(db, "city-centre", "results:read")).secret
        lab_token = (await create_token(db, "lab-agent", "lab:report")).secret
    return Site(live_server, sessionmaker, token, lab_token, Seeder(sessionmaker))
