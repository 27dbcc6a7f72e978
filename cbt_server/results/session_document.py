"""GET /api/v1/sessions/{code}: one exam session as the city centre sees it.

Names the blueprint that fixed the papers (by id and a digest of the stored blueprint,
its version) and the points of every item on any of the session's papers, so a centre
can recompute each result's score from its `responses`; and says whether the examiner
leader has signed (`final`). Built from stored rows in one read transaction.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.db import models
from cbt_server.errors import NotFound
from cbt_server.exam.modes import FORMAL
from cbt_server.results.documents import (
    BlueprintRef,
    BlueprintSection,
    ItemPoints,
    SessionDocument,
)
from cbt_server.results.formats import format_score, format_time


def blueprint_digest(spec: dict[str, Any]) -> str:
    """`sha256:` + hex digest of the blueprint's canonical JSON (sorted keys, compact)."""
    text = json.dumps(spec, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _blueprint_ref(row: models.Blueprint) -> BlueprintRef:
    spec = row.spec
    sections = spec.get("sections", [])
    return BlueprintRef(
        id=row.id,
        title=row.title,
        digest=blueprint_digest(spec),
        total_score=format_score(spec.get("total_score", 0), "total_score"),
        pass_mark=format_score(spec.get("pass_mark", 0), "pass_mark"),
        sections=[
            BlueprintSection(
                type=str(section.get("type", "")),
                title=str(section.get("title", "")),
                score_each=format_score(section.get("score_each", 0), "score_each"),
                items=sum(int(cell.get("count", 0)) for cell in section.get("cells", [])),
            )
            for section in sections
        ],
    )


def item_points(layouts: list[dict[str, Any]]) -> list[ItemPoints]:
    """Each item on any of these papers with its section and points, by item id."""
    found: dict[str, ItemPoints] = {}
    for layout in layouts:
        for index, section in enumerate(layout.get("sections", [])):
            points = format_score(section.get("score_each", 0), "score_each")
            for entry in section.get("items", []):
                item_id = str(entry.get("item_id", ""))
                found.setdefault(item_id, ItemPoints(item_id=item_id, section=index, points=points))
    return [found[key] for key in sorted(found)]


async def load_session_document(db: AsyncSession, code: str) -> dict[str, Any]:
    """The published document of formal session `code`; NotFound if there is none (a
    rehearsal's results never leave the site, and neither does its description)."""
    exam = await db.scalar(
        select(models.ExamSession).where(
            models.ExamSession.code == code, models.ExamSession.mode == FORMAL
        )
    )
    if exam is None:
        raise NotFound(f"no exam session with code {code!r}")
    room = await db.get(models.Room, exam.room_id)
    blueprint = await db.get(models.Blueprint, exam.blueprint_id)
    if room is None or blueprint is None:  # pragma: no cover - foreign keys hold them
        raise NotFound(f"session {code!r} has no room or blueprint")
    layouts = list(
        await db.scalars(select(models.Paper.layout).where(models.Paper.session_id == exam.id))
    )
    document = SessionDocument(
        code=exam.code,
        title=exam.title,
        occupation=exam.occupation,
        level=exam.level,
        room=room.code,
        state=exam.state,
        started_at=format_time(exam.started_at, "started_at"),
        ended_at=format_time(exam.ended_at, "ended_at"),
        final=exam.signed_at is not None,
        signed_by=exam.signed_by,
        signed_at=format_time(exam.signed_at, "signed_at"),
        blueprint=_blueprint_ref(blueprint),
        items=item_points(layouts),
    )
    return document.model_dump(mode="json")
