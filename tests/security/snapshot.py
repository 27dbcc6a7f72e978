"""Snapshots of what the exam data says, to prove that a refused action changed nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cbt_server.db import models

EXAM_TABLES: tuple[Table, ...] = tuple(
    model.__table__  # type: ignore[misc]
    for model in (
        models.ExamSession,
        models.Candidate,
        models.Paper,
        models.Answer,
        models.Pause,
        models.TimeGrant,
        models.Result,
        models.RoomNote,
        models.User,
        models.Assignment,
        models.ApiToken,
        models.Item,
        models.Blueprint,
        models.LabReport,
    )
)
# Not compared: heartbeats and downtimes (the server's liveness), staff sessions (their
# last use is touched on every request).

Snapshot = dict[str, list[tuple[Any, ...]]]


async def snapshot(
    maker: async_sessionmaker[AsyncSession], session_id: int | None = None, code: str = ""
) -> Snapshot:
    """Every row of the exam tables (only those of exam session `session_id`, if given)
    and the audit entries (only those about session `code`, if given)."""
    taken: Snapshot = {}
    async with maker() as db:
        ids: list[int] = []
        if session_id is not None:
            ids = list(
                await db.scalars(
                    select(models.Candidate.id).where(models.Candidate.session_id == session_id)
                )
            )
        for table in EXAM_TABLES:
            query = select(table)
            if session_id is not None:
                if table.name == "exam_sessions":
                    query = query.where(table.c.id == session_id)
                elif "session_id" in table.c:
                    query = query.where(table.c.session_id == session_id)
                elif "candidate_id" in table.c:
                    query = query.where(table.c.candidate_id.in_(ids))
                elif table.name == "candidates":
                    query = query.where(table.c.id.in_(ids))
                else:
                    continue
            rows = (await db.execute(query)).all()
            taken[table.name] = sorted((tuple(row) for row in rows), key=repr)
        audit = select(models.AuditEntry).order_by(models.AuditEntry.id)
        if code:
            audit = audit.where(models.AuditEntry.target.startswith(f"session:{code}"))
        taken["audit_log"] = [
            (e.id, e.actor, e.action, e.target, e.hash) for e in await db.scalars(audit)
        ]
    return taken


def differences(before: Snapshot, after: Snapshot) -> list[str]:
    """Tables whose rows differ, with the first differing rows."""
    found = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, []), after.get(name, [])
        if old != new:
            gone = [row for row in old if row not in new][:2]
            came = [row for row in new if row not in old][:2]
            found.append(f"{name}: -{gone} +{came}")
    return found
