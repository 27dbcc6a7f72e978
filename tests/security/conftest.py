"""Fixtures for the security tests: one prepared site, copied for each test, and a live
server (the full app with the exam runtime) on the copy.

The site has session S-01 (the sample electrician bank, many candidates so that every
fuzzing example can log in a fresh one, scores shown to candidates) and session S-02
(a few candidates, scores not shown), a lab administrator, a proctor and a supervisor
per session, a signed-out staff cookie, and API tokens of both scopes (live and revoked).
Preparing it costs a few seconds, so it is done once per test run.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from cbt_server.accounts import create_user
from cbt_server.app import create_app
from cbt_server.auth.config import AuthConfig
from cbt_server.auth.sessions import open_session, revoke
from cbt_server.auth.web import configure
from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.db.migrate import migrated
from cbt_server.keys import SESSIONMAKER
from cbt_server.protocol import SUBPROTOCOL
from cbt_server.settings import Settings, load_settings
from cbt_server.tokens import create_token, revoke_token
from tests.conftest import LiveServer, free_port
from tests.runtime.conftest import mount
from tests.runtime.exam_setup import Exam, Person, build_exam
from tests.runtime.wsclient import Client, command, proctor_open

CANDIDATES = 160
"""Candidates of S-01: the fuzzing properties log in a fresh one per example."""
ADMIN = "admin-sec"
PASSWORD = "lab admin pass 42"
"""The lab administrator's password (the others' are random)."""


@dataclass(frozen=True)
class Secrets:
    """Credentials prepared in the site, by who holds them."""

    admin_cookie: str
    signed_out_cookie: str  # the proctor of S-01, signed out again
    results_token: str
    lab_token: str
    revoked_results_token: str
    revoked_lab_token: str


@dataclass(frozen=True)
class SiteData:
    folder: Path
    s1: Exam
    s2: Exam
    secrets: Secrets


def site_settings(folder: Path, database_url: str = "", **overrides: Any) -> Settings:
    """Settings for a site in `folder` (its SQLite file there unless `database_url`)."""
    return load_settings(
        {},
        data_dir=str(folder / "data"),
        database_url=database_url or f"sqlite+aiosqlite:///{folder / 'cbt.sqlite3'}",
        sqlite_synchronous="NORMAL",
        **overrides,
    )


async def prepare(folder: Path, database_url: str = "") -> SiteData:
    """Fill a fresh database (and the key folder in `folder`) with the site."""
    settings = site_settings(folder, database_url)
    async with migrated(settings) as maker:
        cipher = ContentCipher.from_data_dir(settings.data_path)
        s1 = await build_exam(maker, cipher, candidates=CANDIDATES, code="S-01", show_scores=True)
        s2 = await build_exam(
            maker, cipher, candidates=6, code="S-02", show_scores=False, with_bank=False
        )
        async with maker.begin() as db:
            admin = await create_user(db, ADMIN, PASSWORD, "lab_admin")
            admin_cookie, _ = await open_session(db, admin, datetime.now(UTC), AuthConfig())
            proctor = await db.scalar(
                select(models.User).where(models.User.username == "proctor-S-01")
            )
            assert proctor is not None
            gone, row = await open_session(db, proctor, datetime.now(UTC), AuthConfig())
            await revoke(db, row.id, datetime.now(UTC))
            results = (await create_token(db, "centre", "results:read")).secret
            lab = (await create_token(db, "lab-agents", "lab:report")).secret
            old_results = (await create_token(db, "centre-old", "results:read")).secret
            old_lab = (await create_token(db, "lab-old", "lab:report")).secret
            await revoke_token(db, "centre-old")
            await revoke_token(db, "lab-old")
        secrets = Secrets(admin_cookie, gone, results, lab, old_results, old_lab)
        return SiteData(folder, s1, s2, secrets)


@pytest.fixture(scope="session")
def site_template(tmp_path_factory: pytest.TempPathFactory) -> SiteData:
    folder = tmp_path_factory.mktemp("security-site")
    return asyncio.run(prepare(folder))


@dataclass
class Site:
    """A live server on a private copy of the prepared site."""

    server: LiveServer
    settings: Settings
    s1: Exam
    s2: Exam
    secrets: Secrets

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def ws_url(self) -> str:
        return self.server.ws_url

    @property
    def app(self) -> web.Application:
        return self.server.app

    async def start(self, exam: Exam) -> None:
        """Start a session through its proctor's console, as in a real room."""
        proctor, _ = await proctor_open(self.ws_url, exam.proctor_cookie, exam.session_id)
        await command(proctor, "start")
        await proctor.close()

    async def proctor(self, exam: Exam) -> Client:
        client, _ = await proctor_open(self.ws_url, exam.proctor_cookie, exam.session_id)
        return client

    async def quiet_login(
        self, person: Person, resume_token: str | None = None
    ) -> tuple[Client, dict[str, Any]]:
        """A candidate's connection without keep-alive pings, logged in; its first state.

        websockets draws keep-alive ping payloads from the global `random`, which
        hypothesis (drawing in another thread meanwhile) would take for a strategy using
        `random`; the server's own heartbeat keeps such a connection alive anyway.
        """
        ws = await connect(
            f"{self.ws_url}/ws/candidate",
            subprotocols=[Subprotocol(SUBPROTOCOL)],
            ping_interval=None,
            max_size=8 * 1024 * 1024,
            open_timeout=10,
        )
        client = Client(ws)
        hello: dict[str, Any] = {
            "type": "hello",
            "protocol": SUBPROTOCOL,
            "ticket": person.ticket,
            "id_number": person.id_number,
        }
        if resume_token is not None:
            hello["resume_token"] = resume_token
        await client.send(hello)
        return client, await client.expect("state")

    async def answers(self, candidate_id: int) -> dict[str, tuple[list[str], bool, int]]:
        """item id -> (response, flagged, seq) as committed for one candidate."""
        async with self.app[SESSIONMAKER]() as db:
            rows = await db.scalars(
                select(models.Answer).where(models.Answer.candidate_id == candidate_id)
            )
            return {r.item_id: (list(r.response), r.flagged, r.seq) for r in rows}

    async def candidate(self, candidate_id: int) -> models.Candidate:
        async with self.app[SESSIONMAKER]() as db:
            row = await db.get(models.Candidate, candidate_id)
            assert row is not None
            return row


async def start_site(
    folder: Path,
    template: SiteData,
    auth: AuthConfig | None = None,
    **overrides: Any,
) -> tuple[Site, web.AppRunner]:
    """Copy the prepared site to `folder` and serve it (settings `overrides` applied,
    staff sign-in configured with `auth` if given)."""
    shutil.copytree(template.folder, folder)
    return await serve(template, site_settings(folder, **overrides), auth)


async def serve(
    data: SiteData, settings: Settings, auth: AuthConfig | None = None
) -> tuple[Site, web.AppRunner]:
    port = free_port()
    settings = settings.replace(host="127.0.0.1", port=port)
    app = mount(create_app(settings))
    if auth is not None:
        configure(app, auth)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    server = LiveServer(f"http://127.0.0.1:{port}", app, runner)
    return Site(server, settings, data.s1, data.s2, data.secrets), runner


@pytest.fixture
async def site(site_template: SiteData, tmp_path: Path) -> AsyncIterator[Site]:
    running, runner = await start_site(tmp_path / "site", site_template)
    try:
        yield running
    finally:
        await runner.cleanup()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def database_kind(request: pytest.FixtureRequest) -> str:
    """The database of `any_site`: empty for the SQLite site template, else a fresh
    PostgreSQL database's URL (skipped unless CBT_TEST_PG_URL is set)."""
    if request.param == "sqlite":
        return ""
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
async def any_site(
    database_kind: str, site_template: SiteData, tmp_path: Path
) -> AsyncIterator[Site]:
    """The site on SQLite, then (when CBT_TEST_PG_URL is set) on PostgreSQL."""
    if database_kind:
        folder = tmp_path / "site"
        data = await prepare(folder, database_kind)
        running, runner = await serve(data, site_settings(folder, database_kind))
    else:
        running, runner = await start_site(tmp_path / "site", site_template)
    try:
        yield running
    finally:
        await runner.cleanup()
