"""The modes' checks that read the database: a formal session's package (one session,
once, inside its window), and the start of a formal session inside that window."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.db import models
from cbt_server.errors import Conflict
from cbt_server.exam import modes
from cbt_server.exam.modes import Mode


async def claim_package(
    session: AsyncSession,
    mode: Mode,
    blueprint: models.Blueprint,
    scheduled_at: datetime | None,
) -> models.PaperPackage | None:
    """Check the source of a new session's paper; for a formal one, the package it takes
    (locked; the caller marks it used once the session exists)."""
    modes.check_source(mode, blueprint.package_id, blueprint.id)
    if mode is not Mode.FORMAL or blueprint.package_id is None:
        return None
    package = await session.get(models.PaperPackage, blueprint.package_id, with_for_update=True)
    if package is None:  # pragma: no cover - the foreign key keeps it
        raise Conflict(f"package {blueprint.package_id} is not stored")
    if package.used_by is not None:
        used = await session.get(models.ExamSession, package.used_by)
        raise Conflict(
            f"the papers of package {package.package_id} were used by session "
            f"{used.code if used else package.used_by} already: a formal package serves one "
            "session, once",
            code="package_used",
        )
    modes.check_window(
        scheduled_at, package.not_before, package.not_after, what="the scheduled time"
    )
    return package


async def check_start(session: AsyncSession, exam: models.ExamSession, now: datetime) -> None:
    """A formal session starts only inside its package's validity window."""
    if exam.mode != modes.FORMAL:
        return
    blueprint = await session.get(models.Blueprint, exam.blueprint_id)
    if blueprint is None or blueprint.package_id is None:
        return  # made before modes existed, or by the sample chain: nothing to hold to
    package = await session.get(models.PaperPackage, blueprint.package_id)
    if package is not None:
        modes.check_window(now, package.not_before, package.not_after, what="the start")
