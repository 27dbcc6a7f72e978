"""docs/console-api.md, done step by step as written, with a plain aiohttp client: sign in
through the login form, read the CSRF token, find a session's id from its code, say
hello on the console WebSocket, and sign the score summary as JSON."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cbt_server.db.models import Candidate, ExamSession, Result
from cbt_server.protocol import SUBPROTOCOL
from tests.auth.factories import PASSWORD, Site
from tests.conftest import LiveServer

Maker = async_sessionmaker[AsyncSession]
HIDDEN_TOKEN = re.compile(r'<input type="hidden" name="login_token" value="([^"]+)">')


async def sign_in(base: str, username: str) -> aiohttp.ClientSession:
    """Section 1 of the doc, to the letter."""
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"{base}/staff/login") as resp:
        assert resp.status == 200
        assert "cbt_login" in resp.cookies
        token = HIDDEN_TOKEN.search(await resp.text())
    assert token and len(token.group(1)) == 43
    async with http.post(
        f"{base}/staff/login",
        data={"username": username, "password": PASSWORD, "login_token": token.group(1)},
        allow_redirects=False,
    ) as resp:
        assert resp.status == 303, await resp.text()
        assert resp.headers["Location"] == "/console"
        assert "cbt_staff" in resp.cookies
    return http


async def get_json(http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with http.get(url) as resp:
        return resp.status, await resp.json()


async def test_a_program_signs_in_finds_the_session_and_signs_as_the_doc_says(
    staff_server: LiveServer, site: Site, sessionmaker: Maker
) -> None:
    base = staff_server.base_url
    async with aiohttp.ClientSession() as anonymous:
        status, body = await get_json(anonymous, f"{base}/api/staff/me")
        assert (status, body["error"]["code"]) == (401, "not_authenticated")
    async with await sign_in(base, "leader") as http:
        status, me = await get_json(http, f"{base}/api/staff/me")
        assert status == 200 and me["username"] == "leader" and me["role"] == "proctor"
        csrf = me["csrf_token"]

        status, listing = await get_json(http, f"{base}/api/staff/sessions?code=S1")
        assert status == 200
        [found] = listing["sessions"]
        assert found["id"] == site.s1 and found["code"] == "S1" and found["duty"] == "leader"
        assert found["signed_at"] is None and found["candidates"] == 5
        status, body = await get_json(http, f"{base}/api/staff/sessions?code=NOPE")
        assert (status, body["error"]["code"]) == (404, "not_found")

        async with http.ws_connect(f"{base}/ws/proctor", protocols=(SUBPROTOCOL,)) as ws:
            await ws.send_json(
                {"type": "hello", "protocol": SUBPROTOCOL, "session_id": found["id"]}
            )
            room = await ws.receive_json(timeout=10)
            assert room["type"] == "room" and room["session_code"] == "S1"

        sign_url = f"{base}/paperwork/sessions/S1/sign"
        as_json = {"Accept": "application/json"}
        async with http.post(sign_url, headers=as_json) as resp:
            assert resp.status == 403
            assert (await resp.json())["error"]["code"] == "csrf_failed"
        async with http.post(sign_url, headers={**as_json, "X-CSRF-Token": csrf}) as resp:
            assert resp.status == 200, await resp.text()
            signed = await resp.json()
        assert signed["session"] == "S1" and signed["final"] is True
        assert signed["signed_by"] == "leader" and signed["results"] == 4
        assert re.fullmatch(r"[0-9a-f]{64}", signed["digest"])
        async with http.post(sign_url, headers={**as_json, "X-CSRF-Token": csrf}) as resp:
            assert resp.status == 409
            assert (await resp.json())["error"]["code"] == "already_signed"
        status, listing = await get_json(http, f"{base}/api/staff/sessions?code=S1")
        assert listing["sessions"][0]["signed_by"] == "leader"

        async with http.post(
            f"{base}/staff/logout", headers={"X-CSRF-Token": csrf}, allow_redirects=False
        ) as resp:
            assert resp.status == 303 and resp.headers["Location"] == "/staff/login"
        status, _ = await get_json(http, f"{base}/api/staff/me")
        assert status == 401
    async with sessionmaker() as db:
        results = list(await db.scalars(select(Result).where(Result.session_id == site.s1)))
    assert results and all(result.final for result in results)


async def test_who_may_sign_and_when_as_json(
    staff_server: LiveServer, site: Site, sessionmaker: Maker
) -> None:
    base = staff_server.base_url
    sign_url = f"{base}/paperwork/sessions/S1/sign"
    async with await sign_in(base, "proctor") as http:  # assigned, not the leader
        _, me = await get_json(http, f"{base}/api/staff/me")
        headers = {"Accept": "application/json", "X-CSRF-Token": me["csrf_token"]}
        async with http.post(sign_url, headers=headers) as resp:
            assert resp.status == 403
            assert (await resp.json())["error"]["code"] == "forbidden"
    async with await sign_in(base, "outsider") as http:  # not assigned to S1 at all
        status, body = await get_json(http, f"{base}/api/staff/sessions?code=S1")
        assert (status, body["error"]["code"]) == (404, "not_found")
        status, listing = await get_json(http, f"{base}/api/staff/sessions")
        assert [s["code"] for s in listing["sessions"]] == ["S2"]
    async with await sign_in(base, "admin") as http:  # a lab administrator sees every one
        status, listing = await get_json(http, f"{base}/api/staff/sessions")
        assert sorted(s["code"] for s in listing["sessions"]) == ["S1", "S2"]
        assert all(s["duty"] == "none" for s in listing["sessions"])
    async with sessionmaker.begin() as db:
        candidate = await db.get(Candidate, site.candidates["T0002"])
        assert candidate is not None
        candidate.state = "submitted"  # not graded yet
    async with await sign_in(base, "leader") as http:
        _, me = await get_json(http, f"{base}/api/staff/me")
        headers = {"Accept": "application/json", "X-CSRF-Token": me["csrf_token"]}
        async with http.post(sign_url, headers=headers) as resp:
            assert resp.status == 409
            assert (await resp.json())["error"]["code"] == "not_finished"
    async with sessionmaker() as db:
        exam = await db.get(ExamSession, site.s1)
    assert exam is not None and exam.signed_at is None


async def test_a_rehearsal_is_never_signed_as_json(
    staff_server: LiveServer, site: Site, sessionmaker: Maker
) -> None:
    """Section 5: a rehearsal (试考) is refused with 409 not_formal, and stays unsigned."""
    async with sessionmaker.begin() as db:
        rehearsal = await db.get(ExamSession, site.s1)
        assert rehearsal is not None
        rehearsal.mode = "rehearsal"
    base = staff_server.base_url
    async with await sign_in(base, "leader") as http:
        _, me = await get_json(http, f"{base}/api/staff/me")
        headers = {"Accept": "application/json", "X-CSRF-Token": me["csrf_token"]}
        async with http.post(f"{base}/paperwork/sessions/S1/sign", headers=headers) as resp:
            assert resp.status == 409
            assert (await resp.json())["error"]["code"] == "not_formal"
    async with sessionmaker() as db:
        exam = await db.get(ExamSession, site.s1)
    assert exam is not None and exam.signed_at is None
