"""The PostgreSQL tools: found on PATH, of the server's version, or a clear refusal."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from cbt_server.backup import pg_tools
from cbt_server.backup.archive import BackupError
from cbt_server.backup.keyseal import Sealer
from cbt_server.backup.take import take_backup
from cbt_server.settings import Settings, load_settings
from tests.backup.conftest import PASSPHRASE


@pytest.fixture
def pg_site(tmp_path: Path, pg_url: str) -> Settings:
    return load_settings({}, data_dir=str(tmp_path / "data"), database_url=pg_url)


async def server_major(url: str) -> int:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SHOW server_version_num")) // 10000
    finally:
        await conn.close()


async def test_installed_tools_match_the_server(pg_url: str) -> None:
    major = await server_major(pg_url)
    assert pg_tools.tool("pg_dump")[1] == major
    assert pg_tools.tool("pg_restore")[1] == major


async def test_missing_pg_dump_is_named(
    pg_site: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(BackupError, match="pg_dump not found on PATH"):
        await take_backup(pg_site, tmp_path / "b.tar", Sealer.from_passphrase(PASSPHRASE))
    assert not (tmp_path / "b.tar").exists()


async def test_an_older_pg_dump_is_refused(
    pg_site: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pg_dump"
    fake.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    major = await server_major(pg_site.database_url)
    with pytest.raises(BackupError, match=f"pg_dump 9 cannot dump a PostgreSQL {major} server"):
        await take_backup(pg_site, tmp_path / "b.tar", Sealer.from_passphrase(PASSPHRASE))
    assert not (tmp_path / "b.tar").exists()
