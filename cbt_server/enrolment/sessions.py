"""Rooms and exam sessions (场次): creating and listing them.

A session binds a blueprint (the paper's recipe) to a room for one sitting. Its seed,
drawn at random here, makes every candidate's paper reproducible for later review.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.db import models
from cbt_server.enrolment import practice
from cbt_server.enrolment.fields import check_code, check_name
from cbt_server.enrolment.layout import check_plan
from cbt_server.enrolment.modes import claim_package
from cbt_server.errors import Conflict, InvalidInput, NotFound
from cbt_server.exam import rules
from cbt_server.exam.modes import mode_of
from cbt_server.exam.practice import UNTIMED_SECONDS


@dataclass(frozen=True, slots=True)
class SessionSpec:
    """What an administrator asks for (`cbt-server session create`); the sample chain too."""

    code: str
    blueprint_id: str
    room_code: str
    duration_minutes: int | None = None
    title: str = ""
    room_name: str = ""
    seats: int | None = None
    site: str = ""
    show_scores: bool = False
    scheduled_at: datetime | None = None
    late_minutes: int | None = None
    min_submit_minutes: int | None = None
    calculator: bool = False
    mode: str = "formal"
    rows: int | None = None
    """The room's seat plan (rows × cols); given for an existing room, it replaces its plan."""
    cols: int | None = None
    feedback: str | None = None
    untimed: bool = False
    practice_code: str | None = None


MAX_SEATS = 500
MAX_DURATION_MINUTES = 600
TITLE_LIMIT = 256


async def ensure_room(
    session: AsyncSession, code: str, name: str, seats: int | None, site: str = ""
) -> models.Room:
    """The room with this code, created when it does not exist yet (then `seats` is needed)."""
    room = await session.scalar(select(models.Room).where(models.Room.code == code))
    if room is not None:
        if seats is not None and seats != room.seat_count:
            raise Conflict(f"room {code!r} exists with {room.seat_count} seats, not {seats}")
        return room
    if seats is None:
        raise InvalidInput(f"room {code!r} does not exist yet: give its number of seats")
    if not 1 <= seats <= MAX_SEATS:
        raise InvalidInput(f"seats must be 1..{MAX_SEATS}, not {seats}")
    return await add_room(session, code, name, seats, site)


async def add_room(
    session: AsyncSession, code: str, name: str, seats: int, site: str = ""
) -> models.Room:
    """A new room, unchecked (`ensure_room` checks what an administrator gives)."""
    room = models.Room(code=code, name=name or code, site=site, seat_count=seats)
    session.add(room)
    await session.flush()
    return room


async def add_session(
    session: AsyncSession,
    spec: SessionSpec,
    blueprint: models.Blueprint,
    room: models.Room,
    *,
    duration_s: int,
    seed: str,
    state: str = "scheduled",
) -> models.ExamSession:
    """A new session of `blueprint` in `room` as `spec` says, unchecked and unaudited
    (`create_session` checks and audits; the sample chain calls this directly)."""
    exam = models.ExamSession(
        code=spec.code,
        title=spec.title or blueprint.title,
        occupation=blueprint.occupation,
        level=blueprint.level,
        blueprint_id=blueprint.id,
        room_id=room.id,
        duration_s=duration_s,
        state=state,
        scheduled_at=spec.scheduled_at,
        show_scores=spec.show_scores,
        seed=seed,
        late_minutes=spec.late_minutes,
        min_submit_minutes=spec.min_submit_minutes,
        calculator=spec.calculator,
        mode=spec.mode,
        feedback=spec.feedback,
        untimed=spec.untimed,
    )
    session.add(exam)
    await session.flush()
    return exam


async def create_session(
    session: AsyncSession,
    spec: SessionSpec,
    *,
    actor: str,
    role: str = "lab_admin",
    now: datetime | None = None,
) -> models.ExamSession:
    """Create a scheduled session (a practice: open at once, see `enrolment.practice`);
    every problem is reported before anything is written. A practice's code is the
    spec's (`practice.new_code()` makes one): only its hash is stored."""
    spec = replace(
        spec,
        code=check_code("session code", spec.code),
        room_code=check_code("room code", spec.room_code),
        title=check_name("title", spec.title, TITLE_LIMIT),
        room_name=check_name("room name", spec.room_name),
        site=check_name("site", spec.site),
    )
    code = spec.code
    rules.check_minutes("late admission", spec.late_minutes)
    rules.check_minutes("earliest hand-in", spec.min_submit_minutes)
    if spec.scheduled_at is not None and spec.scheduled_at.tzinfo is None:
        raise InvalidInput("scheduled time needs a UTC offset, e.g. 2026-12-05T09:00+08:00")
    if await session.scalar(select(models.ExamSession).where(models.ExamSession.code == code)):
        raise Conflict(f"session {code!r} exists already")
    blueprint = await session.get(models.Blueprint, spec.blueprint_id)
    if blueprint is None:
        raise NotFound(f"no blueprint {spec.blueprint_id!r} in the bank (import it first)")
    drill = practice.setup(
        spec.mode,
        feedback=spec.feedback,
        code=spec.practice_code,
        untimed=spec.untimed,
        late_minutes=spec.late_minutes,
        min_submit_minutes=spec.min_submit_minutes,
    )
    if drill is not None:
        await practice.check_code_free(session, drill.code_hash)
        spec = replace(spec, feedback=drill.feedback)
    minutes = spec.duration_minutes or int(blueprint.spec.get("duration_minutes") or 0)
    if spec.untimed:
        if spec.duration_minutes is not None:
            raise InvalidInput("an untimed practice takes no --duration")
        minutes = UNTIMED_SECONDS // 60
    if not spec.untimed and not 1 <= minutes <= MAX_DURATION_MINUTES:
        raise InvalidInput(f"duration must be 1..{MAX_DURATION_MINUTES} minutes, not {minutes}")
    if (spec.min_submit_minutes or 0) >= minutes:
        raise InvalidInput(
            f"earliest hand-in ({spec.min_submit_minutes} minutes) must fall before the end "
            f"of the {minutes}-minute exam"
        )
    room = await ensure_room(session, spec.room_code, spec.room_name, spec.seats, spec.site)
    package = await claim_package(session, mode_of(spec.mode), blueprint, spec.scheduled_at)
    plan = check_plan(room.seat_count, spec.rows, spec.cols)
    if plan is not None:
        room.rows, room.cols = plan
    exam = await add_session(
        session, spec, blueprint, room, duration_s=minutes * 60, seed=secrets.token_hex(16)
    )
    if package is not None:
        package.used_by = exam.id
    if drill is not None:
        exam.practice_code_hash = drill.code_hash
        practice.open_now(exam, now or datetime.now(UTC))
    await audit.record(
        session,
        actor,
        role,
        "session.create",
        target=audit.session_target(code),
        data={
            "blueprint": blueprint.id,
            "room": room.code,
            "minutes": minutes,
            "late_minutes": spec.late_minutes,
            "min_submit_minutes": spec.min_submit_minutes,
            "calculator": spec.calculator,
            "mode": spec.mode,
            "package": package.package_id if package else None,
        }
        | ({"feedback": spec.feedback, "untimed": spec.untimed} if drill else {}),
    )
    return exam


async def sessions_with_rooms(
    session: AsyncSession, *, only: Collection[int] | None = None, by_schedule: bool = False
) -> list[tuple[models.ExamSession, models.Room, int]]:
    """Sessions (all, or those with ids in `only`) with their room and candidate count,
    by code or, `by_schedule`, by scheduled time then code."""
    query = (
        select(models.ExamSession, models.Room, func.count(models.Candidate.id))
        .join(models.Room, models.Room.id == models.ExamSession.room_id)
        .outerjoin(models.Candidate, models.Candidate.session_id == models.ExamSession.id)
        .group_by(models.ExamSession.id, models.Room.id)
    )
    if only is not None:
        query = query.where(models.ExamSession.id.in_(list(only)))
    if by_schedule:
        query = query.order_by(models.ExamSession.scheduled_at, models.ExamSession.code)
    else:
        query = query.order_by(models.ExamSession.code)
    return [(exam, room, count) for exam, room, count in (await session.execute(query)).all()]


async def list_sessions(session: AsyncSession) -> list[dict[str, Any]]:
    """Every session by code, with its room, seats, candidates and state."""
    return [
        {
            "code": exam.code,
            "title": exam.title,
            "blueprint": exam.blueprint_id,
            "room": room.code,
            "seats": room.seat_count,
            # The room's seat plan as set (null: the console derives one).
            "rows": room.rows,
            "cols": room.cols,
            "candidates": count,
            "duration_minutes": exam.duration_s // 60,
            "state": exam.state,
            "show_scores": exam.show_scores,
            "late_minutes": exam.late_minutes,
            "min_submit_minutes": exam.min_submit_minutes,
            "calculator": exam.calculator,
            "mode": exam.mode,
            "feedback": exam.feedback,
            "untimed": exam.untimed,
            "scheduled_at": exam.scheduled_at.isoformat() if exam.scheduled_at else None,
        }
        for exam, room, count in await sessions_with_rooms(session)
    ]


def _moment(exam: models.ExamSession) -> datetime | None:
    return exam.scheduled_at or exam.started_at


def sittings_of_day(
    rows: Collection[models.ExamSession], exam: models.ExamSession
) -> list[models.ExamSession]:
    """The sittings (场次) of `exam`'s day among `rows` (one room's sessions): those whose
    scheduled (else start) time falls on the same local date, by time then code."""
    moment = _moment(exam)
    day = moment.astimezone().date() if moment is not None else None
    same = [
        row
        for row in rows
        if row.id == exam.id
        or (day is not None and (m := _moment(row)) is not None and m.astimezone().date() == day)
    ]
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(same, key=lambda row: (_moment(row) or far, row.code))


async def room_sittings(
    session: AsyncSession, exam: models.ExamSession
) -> list[models.ExamSession]:
    """The sittings of the day in `exam`'s room (see `sittings_of_day`)."""
    rows = await session.scalars(
        select(models.ExamSession).where(models.ExamSession.room_id == exam.room_id)
    )
    return sittings_of_day(list(rows), exam)


async def session_codes(session: AsyncSession) -> list[str]:
    """The codes of every session, in order."""
    return list(
        await session.scalars(select(models.ExamSession.code).order_by(models.ExamSession.code))
    )
