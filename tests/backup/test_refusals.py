"""A damaged backup, a wrong passphrase or a target with data in it is refused with a
clear reason, and nothing is written (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cbt_server.backup import pg_tools
from cbt_server.backup.archive import MANIFEST, BackupError
from cbt_server.backup.keyseal import Sealer, SealError
from cbt_server.backup.restore import restore_backup
from cbt_server.backup.take import sqlite_file, take_backup
from cbt_server.settings import Settings
from tests.backup.conftest import PASSPHRASE
from tests.runtime.exam_setup import prepare_database


@pytest.fixture
async def backup(site: Settings, tmp_path: Path) -> Path:
    await prepare_database(site, candidates=2)
    out = tmp_path / "b.tar"
    await take_backup(site, out, Sealer.from_passphrase(PASSPHRASE))
    return out


async def nothing_written(spare: Settings) -> None:
    assert not spare.data_path.exists()
    if spare.is_sqlite:
        assert not sqlite_file(spare).exists()
    else:
        assert await pg_tools.relations_in(spare.effective_database_url) == 0


def database_span(path: Path) -> tuple[int, int]:
    with tarfile.open(path) as tar:
        member = next(m for m in tar.getmembers() if m.name.startswith("database."))
        return member.offset_data, member.size


async def refused(spare: Settings, path: Path, reason: str, passphrase: str = PASSPHRASE) -> None:
    with pytest.raises((BackupError, SealError), match=reason):
        await restore_backup(spare, path, passphrase)
    await nothing_written(spare)


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def truncate(path: Path, length: int) -> None:
    path.write_bytes(path.read_bytes()[:length])


async def test_a_flipped_byte_is_refused(spare: Settings, backup: Path) -> None:
    start, size = database_span(backup)
    flip_byte(backup, start + size // 2)
    await refused(spare, backup, "SHA-256 differs from the manifest")


@pytest.mark.parametrize("where", ["in_manifest", "half_way", "last_byte"])
async def test_a_truncated_file_is_refused(spare: Settings, backup: Path, where: str) -> None:
    start, size = database_span(backup)
    keep = {"in_manifest": 700, "half_way": start + size // 2, "last_byte": start + size - 1}
    truncate(backup, keep[where])
    await refused(spare, backup, "truncated")


async def test_not_a_backup_is_refused(spare: Settings, tmp_path: Path) -> None:
    other = tmp_path / "notes.tar"
    with tarfile.open(other, "w") as tar:
        tar.addfile(tarfile.TarInfo("notes.txt"), io.BytesIO(b""))
    await refused(spare, other, "does not start with manifest.json")


async def test_an_altered_manifest_is_refused(
    spare: Settings, backup: Path, tmp_path: Path
) -> None:
    altered = tmp_path / "altered.tar"
    rewrite_manifest(backup, altered, lambda m: m["row_counts"].update(results=99))
    await refused(spare, altered, "manifest was altered")


def rewrite_manifest(
    source_path: Path, out_path: Path, change: Callable[[dict[str, Any]], None]
) -> None:
    with tarfile.open(source_path) as source, tarfile.open(out_path, "w") as out:
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == MANIFEST:
                manifest = json.loads(data)
                change(manifest)
                data = json.dumps(manifest).encode()
                member.size = len(data)
            out.addfile(member, io.BytesIO(data))


async def test_a_newer_schema_is_refused(spare: Settings, backup: Path, tmp_path: Path) -> None:
    newer = tmp_path / "newer.tar"
    rewrite_manifest(backup, newer, lambda m: m["database"].update(schema_revision="9999"))
    await refused(spare, newer, "schema '9999' is unknown to this server")


async def test_a_wrong_passphrase_is_refused(spare: Settings, backup: Path) -> None:
    await refused(spare, backup, "wrong passphrase", "not the passphrase at all")


async def test_a_data_folder_with_files_is_refused(spare: Settings, backup: Path) -> None:
    spare.data_path.mkdir(parents=True)
    (spare.data_path / "something").write_text("x")
    with pytest.raises(BackupError, match="data folder is not empty"):
        await restore_backup(spare, backup, PASSPHRASE)
    assert [p.name for p in spare.data_path.iterdir()] == ["something"]


async def test_a_database_with_data_is_refused(
    site: Settings, backup: Path, tmp_path: Path
) -> None:
    # The site's own database, with a new empty data folder beside it.
    target = site.replace(data_dir=str(tmp_path / "new-data"))
    reason = "database file is already there" if site.is_sqlite else "database is not empty"
    with pytest.raises(BackupError, match=reason):
        await restore_backup(target, backup, PASSPHRASE)
    assert not target.data_path.exists()


async def test_restore_without_the_postgresql_tools(
    spare: Settings, backup: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    if spare.is_sqlite:  # SQLite needs no outside tool
        assert (await restore_backup(spare, backup, PASSPHRASE)).verification.ok
    else:
        await refused(spare, backup, "pg_restore not found on PATH")
