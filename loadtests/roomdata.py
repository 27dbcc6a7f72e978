"""A fresh exam room for a load test: sample bank, session, N candidates, papers, accounts.

Built with the sample exam chain the demo and the tests use too (cbt_server.enrolment.
sample: engine → schema → exam → room) and the account and token services, so the server
under test sees exactly what a prepared real room looks like: every paper assembled
before the start.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from cbt_server.accounts import create_user
from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.db.migrate import migrated
from cbt_server.enrolment.sample import (
    SAMPLES,
    Person,
    sample_blueprint,
    sample_exam,
    seat_people,
    store_samples,
)
from cbt_server.enrolment.sessions import SessionSpec
from cbt_server.idcard import make_number
from cbt_server.settings import Settings
from cbt_server.tokens import create_token

__all__ = ["SAMPLES", "Person", "RoomInfo", "build_room", "people"]

BANK_FILE = "electrician-3.yaml"
BLUEPRINT_FILE = "electrician-3-standard.yaml"
SESSION_CODE = "LOAD-01"
ROOM_CODE = "LOAD-LAB"
PROCTOR = "load-proctor"
TOKEN_NAME = "load-test-centre"
MAX_CANDIDATES = 999 * 365  # distinct (birth date, sequence) pairs below

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
_GIVEN = "伟芳娜敏静磊洋艳勇军杰娟涛明超霞平刚桂英华建国红玉兰志强海燕晓东春梅丽文斌"


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


async def build_room(settings: Settings, count: int, *, duration_s: int = 90 * 60) -> RoomInfo:
    """Fill the (fresh) database of `settings` with one prepared room of `count`."""
    crowd = people(count)
    blueprint = sample_blueprint(SAMPLES / "blueprints" / BLUEPRINT_FILE)
    password = secrets.token_urlsafe(16)
    async with migrated(settings) as maker, maker.begin() as session:
        cipher = ContentCipher.from_data_dir(settings.data_path)
        await store_samples(
            session, cipher, [SAMPLES / BANK_FILE], [SAMPLES / "blueprints" / BLUEPRINT_FILE]
        )
        spec = SessionSpec(
            code=SESSION_CODE,
            blueprint_id=blueprint.id,
            room_code=ROOM_CODE,
            title=f"{blueprint.title}（负载测试）",
            room_name="负载测试机房",
            seats=count,
            site="负载测试",
            show_scores=True,
        )
        exam = await sample_exam(session, spec, seed=secrets.token_hex(8), duration_s=duration_s)
        _, papers = await seat_people(session, cipher, exam, crowd)
        user = await create_user(session, PROCTOR, password, "proctor", "负载测试监考员")
        session.add(models.Assignment(user_id=user.id, session_id=exam.id, leader=True))
        token = (await create_token(session, TOKEN_NAME, "results:read")).secret
        session_id = exam.id
    return RoomInfo(session_id, SESSION_CODE, crowd, PROCTOR, password, token, papers)
