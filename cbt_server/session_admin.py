"""Creating rooms and exam sessions (场次), and the `cbt session` CLI.

A session binds a blueprint (the paper's recipe) to a room for one sitting. Its seed,
drawn at random here, makes every candidate's paper reproducible for later review.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import click
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.db import models
from cbt_server.errors import Conflict, InvalidInput, NotFound

MAX_SEATS = 500
MAX_DURATION_MINUTES = 600


@dataclass(frozen=True, slots=True)
class SessionSpec:
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
    room = models.Room(code=code, name=name or code, site=site, seat_count=seats)
    session.add(room)
    await session.flush()
    return room


async def create_session(
    session: AsyncSession, spec: SessionSpec, *, actor: str, role: str = "lab_admin"
) -> models.ExamSession:
    """Create a scheduled session; every problem is reported before anything is written."""
    code = spec.code.strip()
    if not code or len(code) > 64:
        raise InvalidInput("session code must be 1 to 64 characters")
    if spec.scheduled_at is not None and spec.scheduled_at.tzinfo is None:
        raise InvalidInput("scheduled time needs a UTC offset, e.g. 2026-12-05T09:00+08:00")
    if await session.scalar(select(models.ExamSession).where(models.ExamSession.code == code)):
        raise Conflict(f"session {code!r} exists already")
    blueprint = await session.get(models.Blueprint, spec.blueprint_id)
    if blueprint is None:
        raise NotFound(f"no blueprint {spec.blueprint_id!r} in the bank (import it first)")
    minutes = spec.duration_minutes or int(blueprint.spec.get("duration_minutes") or 0)
    if not 1 <= minutes <= MAX_DURATION_MINUTES:
        raise InvalidInput(f"duration must be 1..{MAX_DURATION_MINUTES} minutes, not {minutes}")
    room = await ensure_room(session, spec.room_code, spec.room_name, spec.seats, spec.site)
    exam = models.ExamSession(
        code=code,
        title=spec.title or blueprint.title,
        occupation=blueprint.occupation,
        level=blueprint.level,
        blueprint_id=blueprint.id,
        room_id=room.id,
        duration_s=minutes * 60,
        scheduled_at=spec.scheduled_at,
        show_scores=spec.show_scores,
        seed=secrets.token_hex(16),
    )
    session.add(exam)
    await session.flush()
    await audit.record(
        session,
        actor,
        role,
        "session.create",
        target=audit.session_target(code),
        data={"blueprint": blueprint.id, "room": room.code, "minutes": minutes},
    )
    return exam


async def list_sessions(session: AsyncSession) -> list[dict[str, Any]]:
    counts = dict(
        (
            await session.execute(
                select(models.Candidate.session_id, func.count()).group_by(
                    models.Candidate.session_id
                )
            )
        ).all()
    )
    rows = await session.execute(
        select(models.ExamSession, models.Room)
        .join(models.Room, models.Room.id == models.ExamSession.room_id)
        .order_by(models.ExamSession.code)
    )
    return [
        {
            "code": exam.code,
            "title": exam.title,
            "blueprint": exam.blueprint_id,
            "room": room.code,
            "seats": room.seat_count,
            "candidates": counts.get(exam.id, 0),
            "duration_minutes": exam.duration_s // 60,
            "state": exam.state,
            "show_scores": exam.show_scores,
        }
        for exam, room in rows.all()
    ]


@click.group("session")
def session_group() -> None:
    """Exam sessions (场次) and their rooms."""


@session_group.command("create")
@click.option("--code", required=True, help="Session code, e.g. 2026-DG3-01.")
@click.option("--blueprint", "blueprint_id", required=True, help="Blueprint id in the bank.")
@click.option("--room", "room_code", required=True, help="Room code; created if new.")
@click.option("--seats", type=click.IntRange(1, MAX_SEATS), help="Seats of a new room.")
@click.option("--room-name", default="", help="Display name of a new room.")
@click.option("--site", default="", help="Test site (考点) of a new room.")
@click.option(
    "--duration",
    "duration_minutes",
    type=click.IntRange(1, MAX_DURATION_MINUTES),
    help="Minutes (default: the blueprint's).",
)
@click.option("--title", default="", help="Title (default: the blueprint's).")
@click.option("--show-scores/--hide-scores", default=False, help="Show candidates their score.")
@click.option(
    "--scheduled-at",
    type=click.DateTime(["%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S%z"]),
    help="Planned start with offset, e.g. 2026-12-05T09:00+0800.",
)
@click.pass_context
def create_command(
    ctx: click.Context,
    code: str,
    blueprint_id: str,
    room_code: str,
    seats: int | None,
    room_name: str,
    site: str,
    duration_minutes: int | None,
    title: str,
    show_scores: bool,
    scheduled_at: datetime | None,
) -> None:
    """Create a scheduled session of BLUEPRINT in ROOM."""
    from cbt_server.cli import run_in_db, settings_from
    from cbt_server.roster import _actor

    spec = SessionSpec(
        code=code,
        blueprint_id=blueprint_id,
        room_code=room_code,
        duration_minutes=duration_minutes,
        title=title,
        room_name=room_name,
        seats=seats,
        site=site,
        show_scores=show_scores,
        scheduled_at=scheduled_at,
    )

    async def work(session: AsyncSession) -> str:
        exam = await create_session(session, spec, actor=_actor())
        return f"session {exam.code} created ({exam.duration_s // 60} minutes)"

    click.echo(run_in_db(settings_from(ctx), work))


@session_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_command(ctx: click.Context, as_json: bool) -> None:
    """List sessions with their room, candidates and state."""
    from cbt_server.cli import run_in_db, settings_from

    rows = run_in_db(settings_from(ctx), list_sessions)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        click.echo(
            f"{r['code']}\t{r['state']}\t{r['room']} ({r['candidates']}/{r['seats']})\t"
            f"{r['duration_minutes']} min\t{r['title']}"
        )
