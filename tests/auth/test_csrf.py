"""Every state-changing staff request needs the session's CSRF token."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cbt_server.db.models import ExamSession, User
from tests.auth.factories import signed_in
from tests.conftest import LiveServer

Maker = async_sessionmaker[AsyncSession]

POSTS = [
    ("leader", "/paperwork/sessions/S1/sign", {}),
    ("admin", "/staff/users", {"username": "newbie", "role": "proctor", "password": "x" * 12}),
    ("admin", "/staff/assignments", {"username": "proctor", "session": "S2"}),
    ("proctor", "/staff/logout", {}),
]


@pytest.mark.parametrize(("who", "path", "form"), POSTS, ids=[p[1] for p in POSTS])
@pytest.mark.parametrize("token", ["missing", "wrong", "another session's"])
async def test_post_without_the_right_token_is_refused(
    staff_server: LiveServer,
    sessionmaker: Maker,
    who: str,
    path: str,
    form: dict[str, str],
    token: str,
) -> None:
    base = staff_server.base_url
    http, _ = await signed_in(base, who)
    other, other_csrf = await signed_in(base, who)
    await other.close()
    data = dict(form)
    if token == "wrong":
        data["csrf_token"] = "x" * 43
    elif token == "another session's":
        data["csrf_token"] = other_csrf
    async with http:
        async with http.post(f"{base}{path}", data=data, allow_redirects=False) as resp:
            assert resp.status == 403
            body = await resp.json()
        assert body["error"]["code"] == "csrf_failed"
        async with http.get(f"{base}/console") as still:
            assert still.status == 200  # not logged out either
    async with sessionmaker() as db:
        assert (
            await db.scalar(select(ExamSession.signed_at).where(ExamSession.code == "S1"))
        ) is None
        assert await db.scalar(select(User).where(User.username == "newbie")) is None


async def test_header_token_works_for_scripts(
    staff_server: LiveServer, sessionmaker: Maker
) -> None:
    base = staff_server.base_url
    http, csrf = await signed_in(base, "leader")
    async with (
        http,
        http.post(
            f"{base}/paperwork/sessions/S1/sign",
            headers={"X-CSRF-Token": csrf},
            allow_redirects=False,
        ) as resp,
    ):
        assert resp.status == 303
    async with sessionmaker() as db:
        assert (
            await db.scalar(select(ExamSession.signed_by).where(ExamSession.code == "S1"))
            == "leader"
        )
