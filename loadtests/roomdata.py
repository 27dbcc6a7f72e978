"""A fresh exam room for a load test: sample bank, session, N candidates, papers, accounts.

Built with the server's own pieces (the demo's sample bank and blueprint loader, the item
store, account and token services, paper preparation), so the server under test sees
exactly what a prepared real room looks like: every paper assembled before the start.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.accounts import create_user
from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.db.engine import make_engine, make_sessionmaker
from cbt_server.db.migrate import upgrade
from cbt_server.demo import SAMPLES
from cbt_server.errors import InvalidInput
from cbt_server.idcard import make_number
from cbt_server.item_store import store_blueprint, store_items
from cbt_server.runtime.papers import ensure_papers
from cbt_server.settings import Settings
from cbt_server.tokens import create_token
from item_bank.blueprint import load_blueprint
from item_bank.importers.native import import_native

BANK_FILE = "electrician-3.yaml"
BLUEPRINT_FILE = "electrician-3-standard.yaml"
OCCUPATION = "electrician"
LEVEL = 3
SESSION_CODE = "LOAD-01"
ROOM_CODE = "LOAD-LAB"
PROCTOR = "load-proctor"
TOKEN_NAME = "load-test-centre"
MAX_CANDIDATES = 999 * 365  # distinct (birth date, sequence) pairs below

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
_GIVEN = "伟芳娜敏静磊洋艳勇军杰娟涛明超霞平刚桂英华建国红玉兰志强海燕晓东春梅丽文斌"


@dataclass(frozen=True, slots=True)
class Person:
    ticket: str
    id_number: str
    name: str
    seat: int


def people(count: int) -> list[Person]:
    """`count` made-up candidates with valid, distinct ID-card numbers, seats 1..count."""
    if not 1 <= count <= MAX_CANDIDATES:
        raise ValueError(f"candidates must be 1 to {MAX_CANDIDATES}: {count}")
    made = []
    for seat in range(1, count + 1):
        day = (seat - 1) // 999
        birth = date.fromordinal(date(1970, 1, 1).toordinal() + day * 37 % 12000)
        name = _SURNAMES[seat % len(_SURNAMES)] + _GIVEN[(seat * 7) % len(_GIVEN)]
        made.append(
            Person(
                ticket=f"LT{seat:07d}",
                id_number=make_number("320102", birth, (seat - 1) % 999 + 1),
                name=name,
                seat=seat,
            )
        )
    return made


@dataclass(frozen=True, slots=True)
class RoomInfo:
    """What the load generator needs: written to the room file as JSON."""

    session_id: int
    session_code: str
    people: list[Person]
    proctor_username: str
    proctor_password: str
    centre_token: str
    papers: int

    def to_json(self, seed: int, answer_items: int | None = None) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "session_code": self.session_code,
            "seed": seed,
            "answer_items": answer_items,
            "candidates": [
                {"ticket": p.ticket, "id_number": p.id_number, "seat": p.seat} for p in self.people
            ],
            "proctor": {"username": self.proctor_username, "password": self.proctor_password},
        }


async def _load_bank(session: AsyncSession, cipher: ContentCipher) -> None:
    result = import_native(SAMPLES / BANK_FILE)
    if not result.ok:
        raise InvalidInput(f"sample bank {BANK_FILE} does not import: {result.errors[0]}")
    await store_items(session, cipher, result.items)
    await store_blueprint(session, load_blueprint(SAMPLES / "blueprints" / BLUEPRINT_FILE))


async def build_room(settings: Settings, count: int, *, duration_s: int = 90 * 60) -> RoomInfo:
    """Fill the (fresh) database of `settings` with one prepared room of `count`."""
    crowd = people(count)
    blueprint = load_blueprint(SAMPLES / "blueprints" / BLUEPRINT_FILE)
    engine = make_engine(
        settings.effective_database_url, sqlite_synchronous=settings.sqlite_synchronous
    )
    password = secrets.token_urlsafe(16)
    try:
        await upgrade(engine)
        cipher = ContentCipher.from_data_dir(settings.data_path)
        maker = make_sessionmaker(engine)
        async with maker.begin() as session:
            await _load_bank(session, cipher)
            room = models.Room(
                code=ROOM_CODE, name="负载测试机房", site="负载测试", seat_count=count
            )
            session.add(room)
            await session.flush()
            exam = models.ExamSession(
                code=SESSION_CODE,
                title=f"{blueprint.title}（负载测试）",
                occupation=OCCUPATION,
                level=LEVEL,
                blueprint_id=blueprint.id,
                room_id=room.id,
                duration_s=duration_s,
                show_scores=True,
                seed=secrets.token_hex(8),
            )
            session.add(exam)
            await session.flush()
            rows = [
                models.Candidate(
                    ticket=p.ticket,
                    id_number=p.id_number,
                    name=p.name,
                    occupation=OCCUPATION,
                    level=LEVEL,
                    session_id=exam.id,
                    seat=p.seat,
                )
                for p in crowd
            ]
            session.add_all(rows)
            await session.flush()
            user = await create_user(session, PROCTOR, password, "proctor", "负载测试监考员")
            session.add(models.Assignment(user_id=user.id, session_id=exam.id, leader=True))
            token = (await create_token(session, TOKEN_NAME, "results:read")).secret
            papers = await ensure_papers(session, cipher, exam, rows)
            session_id = exam.id
    finally:
        await engine.dispose()
    return RoomInfo(session_id, SESSION_CODE, crowd, PROCTOR, password, token, papers)
