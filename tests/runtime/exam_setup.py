"""Test data for the exam runtime: the sample bank, a room, a session, candidates with
valid ID-card numbers, papers assembled by item_bank, a proctor with a staff session.

Built by the sample exam chain the demo and the load tests share (cbt_server.enrolment.
sample: engine → schema → exam → room); these helpers add only the tests' own data.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cbt_server.auth.config import AuthConfig
from cbt_server.auth.sessions import open_session
from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.db.engine import make_engine, make_sessionmaker
from cbt_server.db.migrate import migrated
from cbt_server.db.types import utcnow
from cbt_server.enrolment.sample import (
    SAMPLE_BLUEPRINT_ID,
    sample_exam,
    seat_people,
    store_samples,
)
from cbt_server.enrolment.sample import Person as SamplePerson
from cbt_server.enrolment.sessions import SessionSpec
from cbt_server.idcard import make_number
from cbt_server.settings import Settings, load_settings


@dataclass(frozen=True)
class Person:
    id: int
    ticket: str
    id_number: str
    seat: int


@dataclass
class Exam:
    session_id: int
    code: str
    duration_s: int
    people: list[Person]
    proctor_cookie: str = ""
    supervisor_cookie: str = ""
    extra: dict[str, object] = field(default_factory=dict)


async def load_bank(session: AsyncSession, cipher: ContentCipher) -> None:
    await store_samples(session, cipher)


async def staff_cookie(
    session: AsyncSession, username: str, role: str, session_id: int | None
) -> str:
    """A staff member with a signed-in browser session; returns the cookie secret.

    The account has no usable password (the tests sign in by session, and argon2 hashing
    would cost a second per user on a busy machine).
    """
    user = models.User(username=username, display_name=username, role=role, password_hash="!")
    session.add(user)
    await session.flush()
    if session_id is not None:
        session.add(models.Assignment(user_id=user.id, session_id=session_id))
        await session.flush()
    secret, _ = await open_session(session, user, utcnow(), AuthConfig())
    return secret


async def build_exam(
    sessionmaker: async_sessionmaker[AsyncSession],
    cipher: ContentCipher,
    *,
    candidates: int = 30,
    duration_s: int = 90 * 60,
    show_scores: bool = True,
    state: str = "checkin",
    prepare_papers: bool = True,
    code: str = "S-01",
    with_bank: bool = True,
) -> Exam:
    async with sessionmaker.begin() as session:
        if with_bank:
            await store_samples(session, cipher)
        spec = SessionSpec(
            code=code,
            blueprint_id=SAMPLE_BLUEPRINT_ID,
            room_code=f"R-{code}",
            title="电工（高级）理论知识考试",
            room_name="第一机房",
            seats=max(candidates, 1),
            show_scores=show_scores,
        )
        exam = await sample_exam(
            session, spec, seed="test-seed", duration_s=duration_s, state=state
        )
        rows, _ = await seat_people(
            session, cipher, exam, people(code, candidates), papers=prepare_papers
        )
        proctor = await staff_cookie(session, f"proctor-{code}", "proctor", exam.id)
        supervisor = await staff_cookie(session, f"supervisor-{code}", "supervisor", exam.id)
        return Exam(
            session_id=exam.id,
            code=code,
            duration_s=duration_s,
            people=[Person(r.id, r.ticket, r.id_number, r.seat) for r in rows],
            proctor_cookie=proctor,
            supervisor_cookie=supervisor,
        )


def people(code: str, count: int) -> list[SamplePerson]:
    """Candidates of seats 1..count: tickets CODE-0001..., valid ID-card numbers."""
    return [
        SamplePerson(
            ticket=f"{code}-{seat:04d}",
            id_number=make_number("320102", date(1990, 1 + seat % 12, 1 + seat % 28), seat),
            name=f"考生{seat}",
            seat=seat,
        )
        for seat in range(1, count + 1)
    ]


def settings_for(tmp_path: Path, name: str) -> Settings:
    """Settings for a SQLite database and data folder of its own under `tmp_path`."""
    return load_settings(
        {},
        data_dir=str(tmp_path / name / "data"),
        database_url=f"sqlite+aiosqlite:///{tmp_path / name / 'cbt.sqlite3'}",
        sqlite_synchronous="NORMAL",
    )


async def prepare_database(settings: Settings, **kwargs: object) -> Exam:
    """Migrate the settings' database and fill it with one exam (its own engine)."""
    async with migrated(settings) as sessionmaker:
        cipher = ContentCipher.from_data_dir(settings.data_path)
        return await build_exam(sessionmaker, cipher, **kwargs)  # type: ignore[arg-type]


@asynccontextmanager
async def open_db(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A session on the test's database, through an engine of its own."""
    engine = make_engine(settings.effective_database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()
