"""A live exam room for console tests: the runtime's prepared exam (sample bank, papers,
candidates with valid ID numbers) plus the staff of tests.auth.factories, with cookies."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web
from sqlalchemy import select

from cbt_server import runtime
from cbt_server.app import create_app
from cbt_server.auth.config import AuthConfig
from cbt_server.auth.sessions import open_session
from cbt_server.db import models
from cbt_server.db.engine import make_engine, make_sessionmaker
from cbt_server.db.types import utcnow
from cbt_server.enrolment.sessions import SessionSpec, add_session
from cbt_server.settings import Settings
from tests.auth.factories import STAFF, password_hash
from tests.runtime.exam_setup import Exam, prepare_database

CODE = "S1"
OTHER = "S2"


@dataclass
class Room:
    exam: Exam
    other_id: int
    cookies: dict[str, str] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)


async def prepare_room(settings: Settings, candidates: int = 4, **kwargs: object) -> Room:
    """Session S1 (scheduled unless `state` says otherwise) with papers for `candidates`,
    an empty session S2 in the same room, and the STAFF accounts signed in."""
    kwargs.setdefault("state", "scheduled")
    exam = await prepare_database(settings, candidates=candidates, code=CODE, **kwargs)
    engine = make_engine(settings.effective_database_url)
    try:
        async with make_sessionmaker(engine).begin() as db:
            s1 = await db.get(models.ExamSession, exam.session_id)
            assert s1 is not None
            room_row = await db.get(models.Room, s1.room_id)
            blueprint = await db.get(models.Blueprint, s1.blueprint_id)
            assert room_row is not None and blueprint is not None
            spec = SessionSpec(
                code=OTHER,
                blueprint_id=blueprint.id,
                room_code=room_row.code,
                title="电工（高级）理论 第2场",
            )
            s2 = await add_session(
                db, spec, blueprint, room_row, duration_s=s1.duration_s, seed="other"
            )
            room = Room(exam, s2.id)
            ids = {CODE: s1.id, OTHER: s2.id}
            for username, (role, duties) in STAFF.items():
                user = models.User(
                    username=username,
                    role=role,
                    display_name=f"{username} 老师",
                    password_hash=password_hash(),
                )
                db.add(user)
                await db.flush()
                room.users[username] = user.id
                for code, leader in duties.items():
                    db.add(models.Assignment(user_id=user.id, session_id=ids[code], leader=leader))
                secret, _ = await open_session(db, user, utcnow(), AuthConfig())
                room.cookies[username] = secret
            # The runtime's own test proctor and supervisor are not needed here.
            for row in await db.scalars(
                select(models.User).where(models.User.username.like(f"%-{CODE}"))
            ):
                row.disabled = True
    finally:
        await engine.dispose()
    return room


def room_app(settings: Settings) -> web.Application:
    """The full app with the exam runtime mounted (a no-op once create_app mounts it)."""
    app = create_app(settings)
    runtime.setup(app)
    return app
