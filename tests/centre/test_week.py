"""The dashboard's lab readiness verdicts (pushed by each site with its centre token) and
the sessions of the week (paper requests of the next seven days, with who is assigned)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import aiohttp

from cbt_server.centre import examiners
from cbt_server.keys import SESSIONMAKER
from cbt_server.tokens import create_token
from tests.centre.conftest import Centre
from tests.centre.papers_kit import EXAM_DAY, Clock, cli


async def _request(centre: Centre, token: str, session: str, day: date) -> None:
    body = {"occupation": "electrician", "level": 3, "session": session,
            "exam_date": day.isoformat(), "candidates": 25}  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.post(centre.base_url + "/centre/api/v1/paper-requests", json=body) as resp,
    ):
        assert resp.status == 201, await resp.text()


async def test_readiness_and_sessions_of_the_week_on_the_dashboard(
    clock: Clock, centre: Centre, make_site: Any
) -> None:
    site_a, site_b = await make_site("site-a"), await make_site("site-b")
    token_a, token_b = await centre.add_site(site_a), await centre.add_site(site_b)
    async with site_a.server.app[SESSIONMAKER].begin() as db:
        lab_token = (await create_token(db, "lab-scripts", "lab:report")).secret

    # Site A pushes its verdict: no lab PC has reported, so not ready, with the reason.
    push = ["centre", "readiness", "push", "--centre", centre.base_url, "--site", site_a.url]
    code, out = await cli(*push, "--token", token_a, "--lab-token", lab_token)
    assert code == 0 and "未就绪 not ready" in out, out
    code, out = await cli(*push, "--token", token_a, "--lab-token", "cbt_wrong")
    assert code != 0 and "this site refused (401)" in out
    # A verdict that is not one: refused naming the field, nothing kept.
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {token_b}"}) as http,
        http.post(centre.base_url + "/centre/api/v1/readiness", json={"ready": "maybe"}) as resp,
    ):
        assert resp.status == 400 and "readiness: ready" in (await resp.json())["error"]["message"]

    today = EXAM_DAY.date() - timedelta(days=3)
    await _request(centre, token_a, "A-SOON", today + timedelta(days=2))
    await _request(centre, token_b, "B-LATER", today + timedelta(days=10))
    async with centre.sessionmaker.begin() as db:
        await examiners.add_examiner(db, "E-0107", "王考评", "examiner", "site-b", actor="t")
        await examiners.assign(
            db, "E-0107", "site-a", "A-SOON", today + timedelta(days=2), leader=True, actor="t"
        )

    status, body = await centre.get("/centre")
    page = body.decode()
    assert status == 200
    assert 'data-readiness="site-a" data-state="not_ready"' in page
    assert 'data-readiness="site-b" data-state="none"' in page
    assert "PC" in page.split('data-readiness="site-a"')[1].split("</tr>")[0]  # its reason
    assert 'data-session="site-a/A-SOON"' in page and "E-0107 (组长 leader)" in page
    assert "B-LATER" not in page  # ten days on: not this week

    # A week later the verdict is stale.
    clock.now = EXAM_DAY + timedelta(days=5)
    status, body = await centre.get("/centre")
    assert 'data-readiness="site-a" data-state="stale"' in body.decode()
