"""Automatic backups: every N minutes while a session is open, once more when it ends,
the newest K kept, each one a complete backup."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from cbt_server.backup.archive import read_checked
from cbt_server.backup.auto import AutoBackups, backups_in
from cbt_server.backup.keyseal import Sealer
from cbt_server.backup.restore import open_keys
from cbt_server.db import models
from cbt_server.db.migrate import migrated
from cbt_server.settings import Settings, SettingsError
from tests.backup.conftest import PASSPHRASE
from tests.runtime.conftest import ExamServerFactory
from tests.runtime.exam_setup import prepare_database
from tests.waiting import wait_until


def with_backups(site: Settings, tmp_path: Path, every_minutes: float, keep: int) -> Settings:
    folder = tmp_path / "usb"
    folder.mkdir()
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE + "\n")
    return site.replace(
        backup_dir=str(folder),
        backup_every_minutes=every_minutes,
        backup_keep=keep,
        backup_passphrase_file=str(secret),
    )


def test_a_backup_folder_needs_a_passphrase(site: Settings, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="CBT_BACKUP_PASSPHRASE_FILE"):
        site.replace(backup_dir=str(tmp_path))


async def test_the_server_backs_up_while_check_in_is_open(
    exam_server_factory: ExamServerFactory, site: Settings, tmp_path: Path
) -> None:
    settings = with_backups(site, tmp_path, every_minutes=0.01, keep=2)  # every 0.6 s
    await prepare_database(settings, candidates=2)  # open for check-in
    server = await exam_server_factory(settings)
    folder = Path(settings.backup_dir)
    seen: set[str] = set()

    def rounds() -> bool:
        names = [p.name for p in backups_in(folder)]
        # The old ones go once the new one is complete: keep + 1 for a moment, never more.
        assert len(names) <= 3
        seen.update(names)
        return len(seen) >= 5

    await wait_until(rounds, "five automatic backups", within=60, every=0.05)
    await server.runner.cleanup()
    kept = backups_in(folder)
    assert 2 <= len(kept) <= 3  # 3 if the server stopped between a backup and its pruning
    for path in kept[-2:]:
        assert path.stat().st_mode & 0o777 == 0o600  # ID numbers inside
        manifest = read_checked(path)
        assert manifest.row_counts["candidates"] == 2
        assert set(open_keys(manifest, PASSPHRASE)) == {
            "keys/content.key",
            "keys/site-signing.pem",
        }
    await wait_until(lambda: other_files(folder) == [], "temporary copies removed")


def other_files(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if not p.name.startswith("cbt-backup-")]


def plugged(folder: Path, present: bool) -> None:
    """The backup folder there (the USB stick plugged in) or not."""
    if present:
        folder.mkdir()
    else:
        folder.rmdir()


async def set_state(settings: Settings, state: str) -> None:
    async with migrated(settings) as sessionmaker, sessionmaker.begin() as session:
        await session.execute(update(models.ExamSession).values(state=state))


async def test_rounds_follow_the_exam(site: Settings, tmp_path: Path) -> None:
    settings = with_backups(site, tmp_path, every_minutes=1e-5, keep=10)
    await prepare_database(settings, candidates=1, state="scheduled")
    async with migrated(settings) as sessionmaker:
        backups = AutoBackups(settings, sessionmaker, Sealer.from_passphrase(PASSPHRASE))
        made = [await backups.round()]  # scheduled: nothing to protect yet
        await set_state(settings, "started")
        made += [await backups.round(), await backups.round()]
        await set_state(settings, "ended")
        made += [await backups.round(), await backups.round()]  # one last, then none
    assert [path is not None for path in made] == [False, True, True, True, False]
    assert backups_in(Path(settings.backup_dir)) == [path for path in made if path]


async def test_a_missing_folder_fails_the_round_not_the_exam(
    site: Settings, tmp_path: Path
) -> None:
    settings = with_backups(site, tmp_path, every_minutes=1e-5, keep=10)
    await prepare_database(settings, candidates=1)
    plugged(Path(settings.backup_dir), False)
    async with migrated(settings) as sessionmaker:
        backups = AutoBackups(settings, sessionmaker, Sealer.from_passphrase(PASSPHRASE))
        with pytest.raises(FileNotFoundError, match="USB stick"):
            await backups.round()
        plugged(Path(settings.backup_dir), True)
        assert await backups.round() is not None
