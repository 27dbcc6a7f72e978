"""Test data for the exam runtime: the sample bank, a room, a session, candidates with
valid ID-card numbers, papers assembled by item_bank, a proctor with a staff session."""

from __future__ import annotations

import functools
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
from cbt_server.db.migrate import upgrade
from cbt_server.db.types import utcnow
from cbt_server.idcard import make_number
from cbt_server.item_store import store_blueprint, store_items
from cbt_server.runtime.papers import ensure_papers
from cbt_server.settings import Settings, load_settings
from item_bank.blueprint import load_blueprint
from item_bank.importers.native import import_native
from item_bank.model import Blueprint, Item

SAMPLES = Path(__file__).resolve().parents[2] / "item_bank" / "samples"
BANK = SAMPLES / "electrician-3.yaml"
BLUEPRINT = SAMPLES / "blueprints" / "electrician-3-standard.yaml"


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


@functools.cache
def _bank() -> tuple[tuple[Item, ...], Blueprint]:
    """The sample bank, parsed once per test run (it is immutable)."""
    result = import_native(BANK)
    assert result.ok, result.errors[:3]
    return result.items, load_blueprint(BLUEPRINT)


async def load_bank(session: AsyncSession, cipher: ContentCipher) -> None:
    items, blueprint = _bank()
    await store_items(session, cipher, items)
    await store_blueprint(session, blueprint)


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
            await load_bank(session, cipher)
        room = models.Room(code=f"R-{code}", name="第一机房", seat_count=max(candidates, 1))
        session.add(room)
        await session.flush()
        exam = models.ExamSession(
            code=code,
            title="电工（高级）理论知识考试",
            occupation="electrician",
            level=3,
            blueprint_id="electrician-3-standard",
            room_id=room.id,
            duration_s=duration_s,
            state=state,
            show_scores=show_scores,
            seed="test-seed",
        )
        session.add(exam)
        await session.flush()
        rows = []
        for seat in range(1, candidates + 1):
            row = models.Candidate(
                ticket=f"{code}-{seat:04d}",
                id_number=make_number("320102", date(1990, 1 + seat % 12, 1 + seat % 28), seat),
                name=f"考生{seat}",
                occupation="electrician",
                level=3,
                session_id=exam.id,
                seat=seat,
            )
            session.add(row)
            rows.append(row)
        await session.flush()
        if prepare_papers:
            await ensure_papers(session, cipher, exam, rows)
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
    engine = make_engine(settings.effective_database_url)
    try:
        await upgrade(engine)
        cipher = ContentCipher.from_data_dir(settings.data_path)
        return await build_exam(make_sessionmaker(engine), cipher, **kwargs)  # type: ignore[arg-type]
    finally:
        await engine.dispose()


@asynccontextmanager
async def open_db(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A session on the test's database, through an engine of its own."""
    engine = make_engine(settings.effective_database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()
