"""Fixtures for backups: a site's settings and an empty restore target of the same kind."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from cbt_server.settings import Settings, load_settings
from tests.conftest import PG_URL_ENV
from tests.runtime.conftest import exam_server_factory

__all__ = ["exam_server_factory"]  # the live exam servers of tests/runtime, here too

PASSPHRASE = "correct horse battery staple"


def site_settings(root: Path, database_url: str) -> Settings:
    return load_settings(
        {},
        data_dir=str(root / "data"),
        database_url=database_url,
        sqlite_synchronous="NORMAL",
    )


@pytest.fixture
def site(tmp_path: Path, any_db_url: str) -> Settings:
    """The site that is backed up: a data folder and the test's database."""
    return site_settings(tmp_path / "site", any_db_url)


async def _admin(statement: str) -> None:
    base = make_url(os.environ[PG_URL_ENV]).set(drivername="postgresql")
    conn = await asyncpg.connect(base.render_as_string(hide_password=False))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
def spare(tmp_path: Path, site: Settings) -> Iterator[Settings]:
    """The spare machine: an empty data folder and an empty database of the site's kind
    (on PostgreSQL a database created for this test and dropped after it). Request it
    before any server fixture, so that it is torn down after the servers."""
    if site.is_sqlite:
        yield site_settings(tmp_path / "spare", f"sqlite+aiosqlite:///{tmp_path / 'spare.db'}")
        return
    name = f"cbt_spare_{uuid.uuid4().hex[:16]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = make_url(os.environ[PG_URL_ENV]).set(database=name)
    try:
        yield site_settings(tmp_path / "spare", url.render_as_string(hide_password=False))
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
