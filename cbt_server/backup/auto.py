"""Automatic backups while an exam is open: every `backup_every_minutes` while a session
is open for check-in or started, one more after the last such session ends, into
`backup_dir`, keeping the newest `backup_keep` files.

A round that fails (the USB stick pulled out, the disk full) is logged and the next
round tries again; the exam is never held up by it. With several worker processes each
runs this task: a round skips when the folder already has a backup younger than half
the interval, so the workers take turns instead of all writing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cbt_server.backup.keyseal import Sealer, passphrase_from_file
from cbt_server.backup.take import take_backup
from cbt_server.db.models import ExamSession
from cbt_server.exam.state import SessionState
from cbt_server.keys import SESSIONMAKER, SETTINGS
from cbt_server.runtime.tasks import raise_if_cancelling, stop_tasks
from cbt_server.settings import Settings

log = logging.getLogger(__name__)

PREFIX = "cbt-backup-"
SUFFIX = ".tar"
OPEN_STATES = (SessionState.CHECKIN.value, SessionState.STARTED.value)


def backup_name(at: datetime) -> str:
    """A file name that sorts by time: cbt-backup-20261206T093000.123456Z.tar."""
    return f"{PREFIX}{at.astimezone(UTC).strftime('%Y%m%dT%H%M%S.%fZ')}{SUFFIX}"


def backups_in(folder: Path) -> list[Path]:
    """The automatic backups in `folder`, oldest first (other files are never touched)."""
    return sorted(p for p in folder.glob(f"{PREFIX}*{SUFFIX}") if p.is_file())


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` automatic backups; the deleted ones."""
    old = backups_in(folder)[:-keep]
    for path in old:
        path.unlink(missing_ok=True)
    return old


def _recent(folder: Path, within_s: float) -> bool:
    found = backups_in(folder)
    return bool(found) and time.time() - found[-1].stat().st_mtime < within_s


def _ready(folder: Path) -> None:
    if not folder.is_dir():
        raise FileNotFoundError(f"backup folder {folder} is missing (disk or USB stick absent?)")


class AutoBackups:
    """The rounds of automatic backups of one server process."""

    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        sealer: Sealer,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.sealer = sealer
        self.clock = clock
        self.folder = Path(settings.backup_dir)
        self.interval_s = settings.backup_every_minutes * 60
        self._was_open = False

    async def exam_open(self) -> bool:
        async with self.sessionmaker() as session:
            stmt = select(func.count()).where(ExamSession.state.in_(OPEN_STATES))
            return bool(await session.scalar(stmt))

    async def round(self) -> Path | None:
        """One round: a backup if an exam is open or has just closed; its path."""
        open_now = await self.exam_open()
        due = open_now or self._was_open
        if not due:
            return None
        await asyncio.to_thread(_ready, self.folder)
        if await asyncio.to_thread(_recent, self.folder, self.interval_s / 2):
            self._was_open = open_now
            return None  # another worker process made one just now
        path = self.folder / backup_name(self.clock())
        await take_backup(self.settings, path, self.sealer)
        self._was_open = open_now  # after success: a failed final round is tried again
        removed = await asyncio.to_thread(prune, self.folder, self.settings.backup_keep)
        log.info("automatic backup %s written (%d older removed)", path, len(removed))
        return path

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.round()
            except Exception as error:
                raise_if_cancelling()
                log.error("automatic backup failed, next try in %.0f s: %s", self.interval_s, error)


async def auto_backup_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    passphrase = passphrase_from_file(Path(settings.backup_passphrase_file))
    sealer = await asyncio.to_thread(Sealer.from_passphrase, passphrase)
    if not await asyncio.to_thread(Path(settings.backup_dir).is_dir):
        log.error("backup folder %s is missing: backups fail until it exists", settings.backup_dir)
    backups = AutoBackups(settings, app[SESSIONMAKER], sealer)
    task = asyncio.create_task(backups.run(), name="cbt-auto-backup")
    yield
    await stop_tasks([task])


def setup(app: web.Application) -> None:
    """Start automatic backups with the app when `backup_dir` is set (after the database)."""
    if app[SETTINGS].backup_dir:
        app.cleanup_ctx.append(auto_backup_ctx)
