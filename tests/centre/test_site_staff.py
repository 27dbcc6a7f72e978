"""A site pulls the examiners the centre assigned it and receives them as staff accounts
for those sessions only: created with a one-time password, reused when they exist,
waiting when the site has no such session yet, all refused when one conflicts."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from sqlalchemy import func, select

from cbt_server.accounts import create_user
from cbt_server.centre import examiners
from cbt_server.db.models import Assignment, ExamSession, User
from cbt_server.keys import SETTINGS
from cbt_server.protocol import SUBPROTOCOL
from tests.auth.factories import new_client, try_login
from tests.centre.conftest import PASSWORD, Centre, SiteServer
from tests.centre.papers_kit import cli
from tests.runtime.wsclient import Client

DAY = date(2026, 12, 12)


async def _pull(site: SiteServer, centre: Centre, token: str) -> tuple[int, str]:
    settings = site.server.app[SETTINGS]
    env = {"CBT_DATABASE_URL": settings.database_url, "CBT_DATA_DIR": str(settings.data_path)}
    return await cli(
        "centre", "assignments", "pull", "--centre", centre.base_url, "--token", token,
        "--json", env=env,
    )  # fmt: skip


async def _assignments(site: SiteServer) -> set[tuple[str, int, bool]]:
    async with site.sessionmaker() as db:
        rows = await db.execute(
            select(User.username, Assignment.session_id, Assignment.leader).join(
                Assignment, Assignment.user_id == User.id
            )
        )
        return {(u, s, bool(leader)) for u, s, leader in rows}


async def test_assignments_become_session_staff_accounts(centre: Centre, make_site: Any) -> None:
    site_a, site_b = await make_site("site-a"), await make_site("site-b")
    token_a = await centre.add_site(site_a)
    await centre.add_site(site_b)
    session_id = await site_a.seed.exam_session("A1")
    async with centre.sessionmaker.begin() as db:
        await examiners.add_examiner(db, "E-0107", "王考评", "examiner", "site-b", actor="t")
        await examiners.add_examiner(db, "Q-0003", "赵督导", "supervisor", None, actor="t")
        await examiners.assign(db, "E-0107", "site-a", "A1", DAY, leader=True, actor="t")
        await examiners.assign(db, "Q-0003", "site-a", "A1", DAY, actor="t")
        await examiners.assign(db, "Q-0003", "site-a", "A-LATER", date(2026, 12, 20), actor="t")
    async with site_a.sessionmaker.begin() as db:
        await create_user(db, "Q-0003", "own-password-1", "supervisor", "赵督导")

    code, out = await _pull(site_a, centre, token_a)
    assert code == 0, out
    got = {(o["username"], o["session"]): o for o in json.loads(out)["assignments"]}
    examiner = got[("E-0107", "A1")]
    assert examiner["status"] == "created" and examiner["role"] == "proctor"
    assert examiner["leader"] and len(examiner["password"]) >= 10
    assert got[("Q-0003", "A1")]["status"] == "reused" and got[("Q-0003", "A1")]["password"] is None
    assert got[("Q-0003", "A-LATER")]["status"] == "waiting"
    assert await _assignments(site_a) == {
        ("E-0107", session_id, True),
        ("Q-0003", session_id, False),
    }
    # The one-time password signs the examiner in at the site.
    http = new_client()
    try:
        response = await try_login(http, site_a.url, "E-0107", examiner["password"])
        assert response.status == 303
    finally:
        await http.close()
    # Pulling again changes nothing and shows no password.
    code, out = await _pull(site_a, centre, token_a)
    assert code == 0 and '"created"' not in out and 'password": "' not in out
    async with site_a.sessionmaker() as db:
        assert await db.scalar(select(func.count()).select_from(User)) == 2


async def test_a_conflicting_account_refuses_the_whole_pull(centre: Centre, make_site: Any) -> None:
    site_a, site_b = await make_site("site-a"), await make_site("site-b")
    token_a = await centre.add_site(site_a)
    await centre.add_site(site_b)
    await site_a.seed.exam_session("A1")
    async with centre.sessionmaker.begin() as db:
        await examiners.add_examiner(db, "E-0001", "钱考评", "examiner", "site-b", actor="t")
        await examiners.add_examiner(db, "E-0002", "孙考评", "examiner", "site-b", actor="t")
        await examiners.assign(db, "E-0001", "site-a", "A1", DAY, actor="t")
        await examiners.assign(db, "E-0002", "site-a", "A1", DAY, actor="t")
    async with site_a.sessionmaker.begin() as db:
        await create_user(db, "E-0002", PASSWORD, "lab_admin", "机房管理员")
    code, out = await _pull(site_a, centre, token_a)
    assert code != 0 and "E-0002" in out and "nothing applied" in out
    assert await _assignments(site_a) == set()
    async with site_a.sessionmaker() as db:
        assert await db.scalar(select(User.id).where(User.username == "E-0001")) is None
    code, out = await _pull(site_a, centre, "cbtc_wrong")
    assert code != 0 and "401" in out


async def _summary(http: Any, site: SiteServer, code: str) -> tuple[int, str]:
    url = f"{site.url}/paperwork/sessions/{code}/score-summary"
    async with http.get(url, allow_redirects=False) as resp:
        return resp.status, await resp.text()


async def test_a_session_only_account_serves_its_session_and_ends_with_it(
    centre: Centre, make_site: Any
) -> None:
    site_a, site_b = await make_site("site-a"), await make_site("site-b")
    token_a = await centre.add_site(site_a)
    await centre.add_site(site_b)
    await site_a.seed.exam_session("A1")
    await site_a.seed.exam_session("A2")
    async with centre.sessionmaker.begin() as db:
        await examiners.add_examiner(db, "E-0107", "王考评", "examiner", "site-b", actor="t")
        await examiners.assign(db, "E-0107", "site-a", "A1", DAY, leader=True, actor="t")
    async with site_a.sessionmaker.begin() as db:  # the site's own proctor, also on A1
        await create_user(db, "own-proctor", PASSWORD, "proctor", "本考点监考")
    code, out = await _pull(site_a, centre, token_a)
    assert code == 0, out
    (made,) = json.loads(out)["assignments"]
    async with site_a.sessionmaker.begin() as db:
        own = await db.scalar(select(User).where(User.username == "own-proctor"))
        session_id = await db.scalar(select(ExamSession.id).where(ExamSession.code == "A1"))
        assert own is not None and session_id is not None
        db.add(Assignment(user_id=own.id, session_id=session_id))

    http = new_client()
    try:
        assert (await try_login(http, site_a.url, "E-0107", made["password"])).status == 303
        # Its own session only: another session of the site is refused, on its pages
        # and on the proctor's console.
        status, page = await _summary(http, site_a, "A1")
        assert status == 200
        assert (await _summary(http, site_a, "A2"))[0] == 403
        (cookie,) = [c.value for c in http.cookie_jar if c.key == "cbt_staff"]
        console = await Client.open(
            f"{site_a.server.ws_url}/ws/proctor", headers={"Cookie": f"cbt_staff={cookie}"}
        )
        try:
            for session_code, answer in (("A2", "error"), ("A1", "room")):
                async with site_a.sessionmaker() as db:
                    sid = await db.scalar(
                        select(ExamSession.id).where(ExamSession.code == session_code)
                    )
                await console.send({"type": "hello", "protocol": SUBPROTOCOL, "session_id": sid})
                first = await console.expect(answer)
                assert answer == "room" or first["code"] == "forbidden"
        finally:
            await console.close()
        found = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert found
        sign = f"{site_a.url}/paperwork/sessions/A1/sign"
        async with http.post(
            sign, data={"csrf_token": found.group(1)}, allow_redirects=False
        ) as resp:
            assert resp.status == 303
        # Signed off: the account is disabled, its browser signed out, sign-in refused.
        assert (await _summary(http, site_a, "A1"))[0] in (303, 401)
    finally:
        await http.close()
    http = new_client()
    try:
        assert (await try_login(http, site_a.url, "E-0107", made["password"])).status != 303
    finally:
        await http.close()
    async with site_a.sessionmaker() as db:
        users = {u.username: u for u in await db.scalars(select(User))}
    assert users["E-0107"].disabled and users["E-0107"].session_only
    assert not users["own-proctor"].disabled and not users["own-proctor"].session_only

    # Assigned again by the centre: the next pull enables the account, password kept.
    async with centre.sessionmaker.begin() as db:
        await examiners.assign(
            db, "E-0107", "site-a", "A2", date(2026, 12, 19), leader=True, actor="t"
        )
    code, out = await _pull(site_a, centre, token_a)
    assert code == 0, out
    again = {o["session"]: o["status"] for o in json.loads(out)["assignments"]}
    assert again == {"A1": "reused", "A2": "reused"}
    http = new_client()
    try:
        assert (await try_login(http, site_a.url, "E-0107", made["password"])).status == 303
    finally:
        await http.close()
