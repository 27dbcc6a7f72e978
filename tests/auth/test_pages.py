"""What the staff pages show: the sessions a user may see, accounts made on the lab
administrator's page, a session's audit trail and the chain check as JSON."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cbt_server import audit
from cbt_server.db.models import Assignment, User
from tests.auth.factories import Site, new_client, signed_in, try_login
from tests.conftest import LiveServer

Maker = async_sessionmaker[AsyncSession]


async def sessions_listed(base: str, who: str) -> list[str]:
    http, _ = await signed_in(base, who)
    async with http, http.get(f"{base}/console") as resp:
        return re.findall(r'<tr data-session="([^"]+)">', await resp.text())


async def test_session_list_shows_what_each_user_may_see(staff_server: LiveServer) -> None:
    base = staff_server.base_url
    assert await sessions_listed(base, "admin") == ["S1", "S2"]
    assert await sessions_listed(base, "leader") == ["S1"]
    assert await sessions_listed(base, "outsider") == ["S2"]
    assert await sessions_listed(base, "visitor") == ["S2"]


async def test_lab_admin_creates_and_assigns_an_account(
    staff_server: LiveServer, site: Site, sessionmaker: Maker
) -> None:
    base = staff_server.base_url
    http, csrf = await signed_in(base, "admin")
    async with http:
        form = {
            "csrf_token": csrf,
            "username": "zhou",
            "display_name": "周考评员",
            "role": "proctor",
            "password": "a long password",
        }
        async with http.post(f"{base}/staff/users", data=form, allow_redirects=False) as resp:
            assert resp.status == 303
        async with http.post(
            f"{base}/staff/assignments",
            data={"csrf_token": csrf, "username": "zhou", "session": "S2"},
            allow_redirects=False,
        ) as resp:
            assert resp.status == 303
        # Refusals come back on the page, with the reason and nothing stored.
        form["password"] = "short"
        form["username"] = "wu"
        async with http.post(f"{base}/staff/users", data=form) as resp:
            assert resp.status == 400
            assert "at least 10 characters" in await resp.text()
        async with http.post(
            f"{base}/staff/assignments",
            data={"csrf_token": csrf, "username": "zhou", "session": "S1", "leader": "on"},
        ) as resp:
            assert resp.status == 409
            assert "is the examiner leader of S1 already" in await resp.text()
        async with http.get(f"{base}/staff/users") as resp:
            page = await resp.text()
        assert "周考评员（zhou）" in page
    async with new_client() as other:
        assert (await try_login(other, base, "zhou", "a long password")).status == 303
        async with other.get(f"{base}/console") as resp:
            assert re.findall(r'<tr data-session="([^"]+)">', await resp.text()) == ["S2"]
    async with sessionmaker() as db:
        assert await db.scalar(select(User).where(User.username == "wu")) is None
        rows = list(await db.scalars(select(Assignment).where(Assignment.session_id == site.s1)))
        entries = [
            (e.actor, e.action, e.target)
            for e in await db.scalars(select(audit.AuditEntry).order_by(audit.AuditEntry.id))
            if e.action.startswith("user.")
        ]
    assert not any(r.user_id not in site.users.values() for r in rows)
    assert entries == [
        ("admin", "user.create", "user:zhou"),
        ("admin", "user.assign", "session:S2"),
    ]


async def test_session_audit_trail_and_chain_check(
    staff_server: LiveServer, sessionmaker: Maker
) -> None:
    async with sessionmaker.begin() as db:
        await audit.record(db, "leader", "proctor", "session.start", "session:S1")
        await audit.record(db, "outsider", "proctor", "session.start", "session:S2")
        await audit.record(
            db, "leader", "proctor", "candidate.pause", "session:S1/candidate:T0001", "故障"
        )
    base = staff_server.base_url
    http, _ = await signed_in(base, "supervisor")
    async with http:
        async with http.get(f"{base}/api/staff/sessions/S1/audit") as resp:
            trail = await resp.json()
        async with http.get(f"{base}/api/staff/audit/verify") as resp:
            check = await resp.json()
    assert trail["session"] == "S1"
    assert [(e["action"], e["reason"]) for e in trail["entries"]] == [
        ("session.start", ""),
        ("candidate.pause", "故障"),
    ]
    assert check["intact"] is True and check["broken_id"] is None
    assert check["entries"] >= 4  # the three above and the supervisor's login


async def test_pages_carry_no_inline_script_or_style(staff_server: LiveServer) -> None:
    base = staff_server.base_url
    http, _ = await signed_in(base, "leader")
    async with http:
        for path in (
            "/console",
            "/console/sessions/S1",
            "/paperwork/sessions/S1/room-record",
            "/paperwork/sessions/S1/score-summary",
        ):
            async with http.get(f"{base}{path}") as resp:
                html = await resp.text()
                assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
            assert " style=" not in html, path
            for tag in re.findall(r"<script[^>]*>", html):
                assert 'type="module"' in tag and "src=" in tag, (path, tag)
            assert re.search(r"\son[a-z]+=", html) is None, path  # no inline handlers
    async with new_client() as http, http.get(f"{base}/staff/login") as resp:
        html = await resp.text()
    assert " style=" not in html and "<script" not in html
