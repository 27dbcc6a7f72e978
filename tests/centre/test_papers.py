"""Papers out with a real centre and real sites: a site's request (its roster's 补考 rows
checked at the centre), approval at the centre, the sealed package pulled and imported at
the site, the content key released on the exam day only, every step audited."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from cbt_server.audit import AuditEntry
from cbt_server.centre.issuer import issuer_public_pem
from cbt_server.centre.models import CentrePaperRequest
from cbt_server.db import models
from cbt_server.enrolment.sessions import SessionSpec, create_session
from cbt_server.errors import OutsideWindow
from cbt_server.keys import CIPHER, SETTINGS
from cbt_server.packages import import_package
from item_bank.seal import load_verify_key
from tests.auth.factories import new_client, try_login
from tests.centre.conftest import PASSWORD, Centre, SiteServer
from tests.centre.papers_kit import EXAM_DAY, Clock, cli, with_blueprint


async def _site_call(
    centre: Centre, token: str, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.request(method, centre.base_url + path, json=body) as resp,
    ):
        if resp.content_type == "application/json":
            return resp.status, await resp.json()
        return resp.status, await resp.read()


async def _audit(centre: Centre) -> list[tuple[str, str, str]]:
    async with centre.sessionmaker() as db:
        rows = await db.scalars(
            select(AuditEntry)
            .where(AuditEntry.action.like("centre.paper.%"))
            .order_by(AuditEntry.id)
        )
        return [(r.action, r.actor, r.target) for r in rows]


async def test_request_approve_pull_import_and_the_key_on_the_day(
    clock: Clock, centre: Centre, make_site: Any, tmp_path: Path
) -> None:
    site_a, site_b = await make_site("site-a"), await make_site("site-b")
    token_a, token_b = await centre.add_site(site_a), await centre.add_site(site_b)
    await with_blueprint(centre)
    clock.now = EXAM_DAY - timedelta(days=3)
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "准考证号,身份证号,姓名,职业,等级,场次,座位号,补考\n"
        "A0001,11010519491231002X,王一,electrician,3,A-1211,1,否\n",
        encoding="utf-8",
    )
    send = ["centre", "request", "send", "--centre", centre.base_url, "--token", token_a]
    what = ["--occupation", "electrician", "--level", "3", "--session", "A-1211"]
    code, out = await cli(*send, *what, "--date", "2026-12-11", "--candidates", "30",
                          "--roster", str(roster), "--json")  # fmt: skip
    assert code == 0, out
    assert '"status": "requested"' in out
    async with centre.sessionmaker() as db:
        (request,) = await db.scalars(select(CentrePaperRequest))
        wang = {"id_number": "11010519491231002X", "name": "王一", "resit": False}
        assert request.roster == [wang]
    rid = str(request.id)

    # Bad input: named, nothing stored; one request per session; unknown token refused.
    status, body = await _site_call(
        centre, token_a, "POST", "/centre/api/v1/paper-requests",
        {"occupation": "electrician", "level": 9, "session": "X", "exam_date": "2026-12-11",
         "candidates": 3},
    )  # fmt: skip
    assert status == 400 and "level" in body["error"]["message"]
    code, out = await cli(*send, *what, "--date", "2026-12-11", "--candidates", "30")
    assert code != 0 and "already requested" in out
    status, _ = await _site_call(centre, "cbtc_nope", "GET", f"/centre/api/v1/paper-requests/{rid}")
    assert status == 401
    async with centre.sessionmaker() as db:
        assert await db.scalar(select(func.count()).select_from(CentrePaperRequest)) == 1

    # Not approved yet: no package.
    fetch = ["package", "fetch", "--centre", centre.base_url, "--request", rid]
    code, out = await cli(*fetch, "--token", token_a, "--out", str(tmp_path / "early.cbtpkg"))
    assert code != 0 and "not approved" in out and not (tmp_path / "early.cbtpkg").exists()

    # A viewer cannot approve; the administrator approves from the page.
    viewer = new_client()
    try:
        assert (await try_login(viewer, centre.base_url, "viewer", PASSWORD)).status == 303
        async with viewer.post(f"{centre.base_url}/centre/requests/{rid}/approve") as resp:
            assert resp.status == 403
    finally:
        await viewer.close()
    status, page = await centre.get("/centre/requests")
    assert status == 200 and f"/centre/requests/{rid}/approve" in page.decode()
    status, _ = await centre.post(f"/centre/requests/{rid}/approve")
    assert status == 303
    status, _ = await centre.post(f"/centre/requests/{rid}/approve")
    assert status == 409  # approved once
    status, body = await centre.get("/centre/api/requests")
    (listed,) = body["requests"]
    assert listed["status"] == "approved" and listed["approved_by"] == "admin"

    # Another site cannot take it; site A pulls it with its token.
    code, out = await cli(*fetch, "--token", token_b, "--out", str(tmp_path / "b.cbtpkg"))
    assert code != 0 and "404" in out
    package = tmp_path / "a.cbtpkg"
    code, out = await cli(*fetch, "--token", token_a, "--out", str(package))
    assert code == 0, out

    # The key: refused the day before, released on the day.
    key_file = tmp_path / "a.key"
    key_cmd = ["package", "key", "--centre", centre.base_url, "--token", token_a, "--request", rid]
    clock.now = EXAM_DAY - timedelta(minutes=1)
    code, out = await cli(*key_cmd, "--out", str(key_file))
    assert code != 0 and "released on the exam day, 2026-12-11" in out
    assert not key_file.exists()
    clock.now = EXAM_DAY + timedelta(hours=7)
    code, out = await cli(*key_cmd, "--out", str(key_file))
    assert code == 0, out
    assert key_file.stat().st_mode & 0o777 == 0o600

    # The site imports it: the centre's bank's items and blueprint, valid on that day.
    verify = tmp_path / "centre.pem"
    verify.write_text(issuer_public_pem(centre.app[SETTINGS].data_path))
    await _import(site_a, package.read_bytes(), key_file.read_bytes(), verify)
    async with site_a.sessionmaker() as db:
        blueprint = await db.get(models.Blueprint, "electrician-3-centre")
        assert blueprint is not None and blueprint.package_id == listed["package_id"]
        record = await db.get(models.PaperPackage, listed["package_id"])
        assert record is not None and record.not_before == EXAM_DAY
        assert record.not_after == EXAM_DAY + timedelta(days=1)
        assert await db.scalar(select(func.count()).select_from(models.Item)) == 100
    # Its papers make the formal session of that day, and only on that day.
    spec = SessionSpec(
        code="A-1211", blueprint_id="electrician-3-centre", room_code="LAB-1", seats=30,
        scheduled_at=EXAM_DAY - timedelta(hours=1),
    )  # fmt: skip
    with pytest.raises(OutsideWindow):
        async with site_a.sessionmaker.begin() as db:
            await create_session(db, spec, actor="site-admin")
    async with site_a.sessionmaker.begin() as db:
        exam = await create_session(
            db, replace(spec, scheduled_at=EXAM_DAY + timedelta(hours=9)), actor="site-admin"
        )
        assert exam.mode == "formal"

    # The day after: no key any more.
    clock.now = EXAM_DAY + timedelta(days=1, minutes=1)
    status, body = await _site_call(
        centre, token_a, "GET", f"/centre/api/v1/paper-requests/{rid}/key"
    )
    assert status == 409 and "is over" in body["error"]["message"]

    assert await _audit(centre) == [
        ("centre.paper.request", "site:site-a", f"paper_request:{rid}"),
        ("centre.paper.approve", "admin", f"paper_request:{rid}"),
        ("centre.paper.pull", "site:site-a", f"paper_request:{rid}"),
        ("centre.paper.key_release", "site:site-a", f"paper_request:{rid}"),
    ]


async def _import(site: SiteServer, data: bytes, key: bytes, verify: Path) -> None:
    async with site.sessionmaker.begin() as db:
        await import_package(
            db, site.server.app[CIPHER], data, key, load_verify_key(verify), actor="site-admin"
        )


async def test_approval_without_a_blueprint_changes_nothing(
    clock: Clock, centre: Centre, make_site: Any
) -> None:
    site = await make_site("site-a")
    token = await centre.add_site(site)
    clock.now = EXAM_DAY - timedelta(days=3)
    status, body = await _site_call(
        centre, token, "POST", "/centre/api/v1/paper-requests",
        {"occupation": "electrician", "level": 3, "session": "S", "exam_date": "2026-12-11",
         "candidates": 3},
    )  # fmt: skip
    assert status == 201, body
    status, page = await centre.post(f"/centre/requests/{body['id']}/approve")
    assert status == 409 and "no blueprint" in page["error"]["message"]
    async with centre.sessionmaker() as db:
        row = await db.get(CentrePaperRequest, body["id"])
        assert row is not None and row.status == "requested" and row.package is None
    assert [a for a, _, _ in await _audit(centre)] == ["centre.paper.request"]


async def test_two_approvals_at_once_seal_the_papers_once(
    clock: Clock, centre: Centre, make_site: Any
) -> None:
    site = await make_site("site-a")
    token = await centre.add_site(site)
    await with_blueprint(centre)
    status, body = await _site_call(
        centre, token, "POST", "/centre/api/v1/paper-requests",
        {"occupation": "electrician", "level": 3, "session": "S", "exam_date": "2026-12-11",
         "candidates": 3},
    )  # fmt: skip
    assert status == 201, body
    path = f"/centre/requests/{body['id']}/approve"
    answers = await asyncio.gather(centre.post(path), centre.post(path))
    assert sorted(status for status, _ in answers) == [303, 409]
    assert [a for a, _, _ in await _audit(centre)] == [
        "centre.paper.request",
        "centre.paper.approve",
    ]
