"""Test data for staff tests: a site with two sessions, staff of every kind, and a
signed-in HTTP client. Shared by tests/auth, tests/console and tests/paperwork."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cbt_server.accounts import hash_password
from cbt_server.db.models import (
    Assignment,
    Blueprint,
    Candidate,
    Paper,
    Result,
    User,
)
from cbt_server.enrolment.sessions import SessionSpec, add_room, add_session

PASSWORD = "correct horse 42"
T0 = datetime(2026, 5, 20, 1, 0, tzinfo=UTC)  # 09:00 in Beijing


@functools.cache
def password_hash() -> str:
    """One argon2 hash of PASSWORD per test process (hashing costs about half a second)."""
    return hash_password(PASSWORD)


@dataclass
class Site:
    s1: int
    s2: int
    candidates: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)


# name -> (role, {session code: leader?})
STAFF: dict[str, tuple[str, dict[str, bool]]] = {
    "admin": ("lab_admin", {}),
    "leader": ("proctor", {"S1": True}),
    "proctor": ("proctor", {"S1": False}),
    "outsider": ("proctor", {"S2": True}),
    "supervisor": ("supervisor", {"S1": False}),
    "visitor": ("supervisor", {"S2": False}),
}

# ticket -> (seat, name, state, score or None)
S1_CANDIDATES: dict[str, tuple[int, str, str, float | None]] = {
    "T0001": (1, "王小明", "graded", 95.0),
    "T0002": (2, "李华", "graded", 72.0),
    "T0003": (3, "张伟", "graded", 41.0),
    "T0004": (4, "赵丽", "absent", None),
    "T0005": (5, "陈静", "graded", 60.0),
}


async def seed_site(maker: async_sessionmaker[AsyncSession], *, finished: bool = True) -> Site:
    """Room R1, sessions S1 (5 candidates, graded unless `finished` is False) and S2,
    and the staff of STAFF with password PASSWORD."""
    async with maker.begin() as db:
        blueprint = Blueprint(
            id="bp-e3",
            title="电工（高级）理论知识试卷",
            occupation="electrician",
            level=3,
            spec={"pass_mark": 60, "total_score": 100},
        )
        db.add(blueprint)
        room = await add_room(db, "R1", "第一机房", 30, "宁波职业技术学院考点")
        sessions = {}
        for code, title in (("S1", "电工（高级）理论 第1场"), ("S2", "电工（高级）理论 第2场")):
            done = code == "S1" and finished
            spec = SessionSpec(code, blueprint.id, room.code, title=title, scheduled_at=T0)
            exam = await add_session(
                db,
                spec,
                blueprint,
                room,
                duration_s=90 * 60,
                seed="seed-" + code,
                state="ended" if done else "scheduled",
            )
            if done:
                exam.started_at, exam.ended_at = T0, T0 + timedelta(minutes=90)
            sessions[code] = exam.id
        site = Site(sessions["S1"], sessions["S2"])
        for ticket, (seat, name, state, score) in S1_CANDIDATES.items():
            if not finished:
                state, score = "answering", None
            cand = Candidate(
                ticket=ticket,
                id_number=f"33020419900101{seat:03d}X",
                name=name,
                occupation="electrician",
                level=3,
                session_id=site.s1,
                seat=seat,
                state=state,
                checked_in_at=T0 - timedelta(minutes=10) if state != "absent" else None,
                started_at=T0 if state != "absent" else None,
                submitted_at=T0 + timedelta(minutes=80) if score is not None else None,
                submit_reason="candidate" if score is not None else None,
            )
            db.add(cand)
            await db.flush()
            site.candidates[ticket] = cand.id
            if score is None:
                continue
            paper = Paper(
                id=f"p-{ticket}",
                candidate_id=cand.id,
                session_id=site.s1,
                blueprint_id="bp-e3",
                seed="x",
                layout={},
            )
            db.add(paper)
            await db.flush()
            db.add(
                Result(
                    candidate_id=cand.id,
                    session_id=site.s1,
                    paper_id=paper.id,
                    score=score,
                    max_score=100.0,
                    pass_mark=60.0,
                    passed=score >= 60,
                    started_at=T0,
                    submitted_at=T0 + timedelta(minutes=80),
                    submit_reason="candidate",
                    responses=[],
                )
            )
        for username, (role, duties) in STAFF.items():
            user = User(
                username=username,
                role=role,
                display_name=f"{username} 老师",
                password_hash=password_hash(),
            )
            db.add(user)
            await db.flush()
            site.users[username] = user.id
            for code, leader in duties.items():
                db.add(Assignment(user_id=user.id, session_id=sessions[code], leader=leader))
    return site


_LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def new_client(local_address: str | None = None) -> aiohttp.ClientSession:
    """An HTTP client with its own cookies (unsafe=True: kept for 127.0.0.1), connecting
    from `local_address` (another 127.0.0.x) when given."""
    connector = aiohttp.TCPConnector(local_addr=(local_address, 0)) if local_address else None
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), connector=connector)


async def login_token(http: aiohttp.ClientSession, base: str) -> str:
    async with http.get(f"{base}/staff/login") as resp:
        assert resp.status == 200
        found = _LOGIN_TOKEN.search(await resp.text())
    assert found, "login page has no login_token"
    return found.group(1)


async def try_login(
    http: aiohttp.ClientSession, base: str, username: str, password: str = PASSWORD
) -> aiohttp.ClientResponse:
    token = await login_token(http, base)
    async with http.post(
        f"{base}/staff/login",
        data={"username": username, "password": password, "login_token": token},
        allow_redirects=False,
    ) as resp:
        await resp.read()
        return resp


async def csrf_of(http: aiohttp.ClientSession, base: str) -> str:
    async with http.get(f"{base}/console") as resp:
        assert resp.status == 200, await resp.text()
        found = _CSRF_META.search(await resp.text())
    assert found, "staff page has no csrf-token meta"
    return found.group(1)


async def signed_in(base: str, username: str) -> tuple[aiohttp.ClientSession, str]:
    """A client signed in as `username`, and its CSRF token."""
    http = new_client()
    try:
        resp = await try_login(http, base, username)
        assert resp.status == 303, f"login of {username} failed: {resp.status}"
        return http, await csrf_of(http, base)
    except BaseException:
        await http.close()
        raise
