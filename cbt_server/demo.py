"""The demo exam behind `make demo`: sample bank, session DEMO-01, 30 candidates.

Re-running keeps what is stored (answers, results) and every credential written to
demo-credentials.json the last time: the proctor password and the centre token there are
checked against their stored hashes and reused; only one that no longer works (the file
lost or edited, the token revoked) is replaced. `--reset` starts from an empty database
with new credentials.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.accounts import create_user, hash_password, verify_password
from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.db.migrate import migrated
from cbt_server.durable import private_dir
from cbt_server.enrolment.roster import prepare_papers
from cbt_server.enrolment.sample import (
    SAMPLE_BANK,
    SAMPLE_BLUEPRINT,
    SAMPLE_BLUEPRINT_ID,
    Person,
    every_sample,
    sample_blueprint,
    sample_items,
    seat_people,
    store_samples,
)
from cbt_server.enrolment.sessions import SessionSpec, create_session
from cbt_server.errors import DomainError, InvalidInput
from cbt_server.idcard import make_number
from cbt_server.packages import import_package
from cbt_server.settings import Settings
from cbt_server.tokens import Scope, authenticate, create_token, revoke_token
from item_bank.seal import seal

SESSION_CODE = "DEMO-01"
ROOM_CODE = "LAB-01"
SEATS = 30
BLUEPRINT_ID = SAMPLE_BLUEPRINT_ID
PROCTOR = "demo-proctor"
CENTRE_TOKEN_NAME = "demo-city-centre"

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "磊",
    "洋",
    "艳",
    "勇",
    "军",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "建华",
    "志强",
    "海燕",
    "晓东",
    "春梅",
    "国平",
    "丽华",
    "文斌",
    "玉兰",
)


def demo_candidates() -> list[Person]:
    """30 made-up candidates with valid ID-card numbers (region 320102, Nanjing)."""
    people = []
    for seat in range(1, SEATS + 1):
        name = _SURNAMES[(seat * 7) % len(_SURNAMES)] + _GIVEN[(seat * 11) % len(_GIVEN)]
        birth = date(1975 + seat % 25, 1 + seat % 12, 1 + (seat * 3) % 28)
        people.append(
            Person(
                ticket=f"2026{SEATS:02d}{seat:04d}",
                id_number=make_number("320102", birth, 100 + seat),
                name=name,
                seat=seat,
            )
        )
    return people


async def _formal_package(session: AsyncSession, cipher: ContentCipher) -> None:
    """DEMO-01 is a formal session, so its paper comes in a sealed package as a real
    site's does (sealed here with throwaway keys; a site imports the centre's)."""
    key, signing = os.urandom(32), Ed25519PrivateKey.generate()
    blueprint = sample_blueprint(SAMPLE_BLUEPRINT)
    data = seal(sample_items(SAMPLE_BANK), [blueprint], key, signing, creator="demo")
    await import_package(session, cipher, data, key, signing.public_key(), actor="demo")


async def _ensure_session(session: AsyncSession, cipher: ContentCipher) -> models.ExamSession:
    exam = await session.scalar(
        select(models.ExamSession).where(models.ExamSession.code == SESSION_CODE)
    )
    if exam is None:
        # Made as `cbt-server session create` makes a session (checked, audited), then seated.
        exam = await create_session(
            session,
            SessionSpec(
                code=SESSION_CODE,
                blueprint_id=BLUEPRINT_ID,
                room_code=ROOM_CODE,
                room_name="第一机房",
                seats=SEATS,
                site="演示考点",
                title="电工（高级）理论知识考试（演示）",
                show_scores=True,
            ),
            actor="demo",
        )
        await seat_people(session, cipher, exam, demo_candidates(), papers=False)
    # Papers are drawn now, not at the start, so starting the room costs no assembly.
    await prepare_papers(session, cipher, SESSION_CODE)
    return exam


async def _proctor_password(
    session: AsyncSession, exam: models.ExamSession, previous: str | None
) -> str:
    user = await session.scalar(select(models.User).where(models.User.username == PROCTOR))
    if user is None:
        password = secrets.token_urlsafe(12)
        user = await create_user(session, PROCTOR, password, "proctor", "演示监考员")
    else:
        if previous and verify_password(user.password_hash, previous):
            password = previous
        else:
            password = secrets.token_urlsafe(12)
            user.password_hash = hash_password(password)
        user.failed_logins, user.locked_until, user.failures_since = 0, None, None
        await session.execute(delete(models.LoginLock).where(models.LoginLock.user_id == user.id))
    # The demo proctor is also the examiner leader (考评组长), so the demo can be signed.
    assignment = await session.get(models.Assignment, (user.id, exam.id))
    if assignment is None:
        session.add(models.Assignment(user_id=user.id, session_id=exam.id, leader=True))
    else:
        assignment.leader = True
    return password


async def _centre_token(session: AsyncSession, previous: str | None) -> str:
    if previous:
        try:
            row = await authenticate(session, previous, Scope.RESULTS_READ)
        except DomainError:
            pass
        else:
            if row.name == CENTRE_TOKEN_NAME:
                return previous
    existing = await session.scalar(
        select(models.ApiToken).where(models.ApiToken.name == CENTRE_TOKEN_NAME)
    )
    if existing is not None:
        await revoke_token(session, CENTRE_TOKEN_NAME)
        existing.name = f"{CENTRE_TOKEN_NAME}-revoked-{existing.id}"
        await session.flush()
    return (await create_token(session, CENTRE_TOKEN_NAME, Scope.RESULTS_READ)).secret


def _previous_credentials(path: Path) -> dict[str, Any]:
    """What the last run wrote, or {} when there is no readable file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise InvalidInput(
            f"{path} is not readable JSON ({error}): delete it (new credentials are issued) "
            "or run with --reset"
        ) from None
    return data if isinstance(data, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


async def _prepare(settings: Settings, previous: dict[str, Any]) -> dict[str, Any]:
    proctor = previous.get("proctor")
    old_password = _text(proctor.get("password")) if isinstance(proctor, dict) else None
    async with migrated(settings) as sessionmaker:
        cipher = ContentCipher.from_data_dir(settings.data_path)
        async with sessionmaker.begin() as session:
            await store_samples(session, cipher, *every_sample())
            await _formal_package(session, cipher)
            exam = await _ensure_session(session, cipher)
            password = await _proctor_password(session, exam, old_password)
            token = await _centre_token(session, _text(previous.get("centre_token")))
    return {
        "base_url": settings.local_url,
        "session": SESSION_CODE,
        "candidates": [
            {"ticket": c.ticket, "id_number": c.id_number, "name": c.name, "seat": c.seat}
            for c in demo_candidates()
        ],
        "proctor": {"username": PROCTOR, "password": password},
        "centre_token": token,
    }


def prepare_demo(settings: Settings, *, reset: bool = False) -> Path:
    """Load the demo into the configured database and write var/demo-credentials.json.

    Without `reset` the credentials of the last run stay valid (see the module's doc);
    with it the SQLite database file is deleted first. A PostgreSQL database is not dropped
    by the demo: `reset` there is refused (InvalidInput) before anything changes.
    """
    data = settings.data_path
    path = data / "demo-credentials.json"
    if reset and not settings.is_sqlite:
        raise InvalidInput(
            "--reset deletes the demo's SQLite file only; on PostgreSQL drop and re-create "
            "the database yourself, then run the demo again"
        )
    private_dir(data)
    if reset:
        database = make_url(settings.effective_database_url).database
        if database and database != ":memory:":
            for suffix in ("", "-wal", "-shm"):
                Path(database + suffix).unlink(missing_ok=True)
        path.unlink(missing_ok=True)
    credentials = asyncio.run(_prepare(settings, _previous_credentials(path)))
    path.write_text(json.dumps(credentials, ensure_ascii=False, indent=2), encoding="utf-8")
    path.chmod(0o600)
    return path
