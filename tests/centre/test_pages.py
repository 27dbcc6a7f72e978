"""Centre sign-in and roles, the schedule, the xlsx export and the CLI. Real servers."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import select

from cbt_server.accounts import create_user
from cbt_server.audit import AuditEntry
from cbt_server.centre import sites
from cbt_server.centre.models import CentreResult
from cbt_server.cli import cli
from cbt_server.item_store import store_items
from cbt_server.keys import CIPHER
from cbt_server.settings import Settings
from tests.auth.factories import new_client, try_login
from tests.centre.conftest import PASSWORD, Centre, bank_items, start_centre


async def test_viewer_reads_but_does_not_manage_and_site_roles_get_nothing(
    centre: Centre,
) -> None:
    async with centre.sessionmaker.begin() as db:
        await create_user(db, "labby", PASSWORD, "lab_admin")
    async with new_client() as http:
        assert (await try_login(http, centre.base_url, "viewer", PASSWORD)).status == 303
        async with http.get(centre.base_url + "/centre") as resp:
            page = await resp.text()
            assert resp.status == 200 and "中心查看员" in page
        async with http.get(centre.base_url + "/centre/sites") as resp:
            assert resp.status == 200 and 'action="/centre/sites"' not in await resp.text()
        csrf = page.split('name="csrf-token" content="')[1].split('"')[0]
        async with http.post(
            centre.base_url + "/centre/api/pull", headers={"X-CSRF-Token": csrf}
        ) as resp:
            assert resp.status == 403
    async with new_client() as http:
        assert (await try_login(http, centre.base_url, "labby", PASSWORD)).status == 303
        async with http.get(centre.base_url + "/centre/api/sites") as resp:
            assert resp.status == 403
    async with new_client() as http:  # not signed in
        async with http.get(centre.base_url + "/centre", allow_redirects=False) as resp:
            assert resp.status == 303 and resp.headers["Location"].startswith("/staff/login")
        async with http.get(centre.base_url + "/centre/api/summary") as resp:
            assert resp.status == 401
    # Without the CSRF token an administrator's change is refused too.
    async with centre.http.post(centre.base_url + "/centre/api/pull") as resp:
        assert resp.status == 403 and (await resp.json())["error"]["code"] == "csrf_failed"


async def test_bad_site_registrations_are_refused_with_the_field_named(
    centre: Centre, make_site: Any
) -> None:
    site = await make_site("site-a")
    status, body = await centre.post(
        "/centre/sites", {"code": "bad code!", "url": site.url, "token": "t"}
    )
    assert status == 400 and body["error"]["message"].startswith("code")
    status, body = await centre.post(
        "/centre/sites", {"code": "ok", "url": "ftp://x", "token": "t"}
    )
    assert status == 400 and body["error"]["message"].startswith("url")
    await centre.add_site(site)
    status, body = await centre.post(
        "/centre/sites", {"code": "site-a", "url": site.url, "token": "t"}
    )
    assert status == 409
    async with centre.sessionmaker() as db:
        entries = [
            (e.actor, e.action, e.target)
            for e in await db.scalars(select(AuditEntry))
            if e.action.startswith("centre.")
        ]
    assert entries == [("admin", "centre.site.add", "site:site-a")]


async def test_the_schedule_pulls_and_the_export_has_the_summary(
    centre_settings: Settings, make_site: Any
) -> None:
    site = await make_site("site-a")
    for n in range(4):
        await site.seed.result("S1", correct=50 + 10 * n, wrong=50 - 10 * n, final=True)
    runners: list[Any] = []
    base, app = await start_centre(centre_settings.replace(centre_pull_seconds=1), runners)
    centre = Centre(base, app, new_client(), "")
    try:
        async with centre.sessionmaker.begin() as db:
            await create_user(db, "admin", PASSWORD, "centre_admin")
            await store_items(db, app[CIPHER], bank_items())
            await sites.add_site(db, "site-a", site.url, site.token, actor="test")
        for _ in range(100):  # the background task pulls within about a second
            async with centre.sessionmaker() as db:
                if len(list(await db.scalars(select(CentreResult.id)))) == 4:
                    break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the scheduled pull did not bring the results")
        assert (await try_login(centre.http, base, "admin", PASSWORD)).status == 303
        status, body = await centre.get("/centre/summary.xlsx")
        assert status == 200
        sheet = load_workbook(io.BytesIO(body)).active
        assert sheet is not None
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][:4] == ("职业 Occupation", "职业代码 Code", "等级 Level", "人数 Candidates")
        assert rows[1][:6] == ("电工", "electrician", "高级（3级）", 4, 3, 0.75)
        assert rows[1][9] == 4 and sum(rows[1][10:]) == 4
    finally:
        await centre.http.close()
        for runner in runners:
            await runner.cleanup()


def test_cli_registers_lists_and_refuses(tmp_path: Path) -> None:
    env = {
        "CBT_DATA_DIR": str(tmp_path),
        "CBT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'centre.sqlite3'}",
    }
    runner = CliRunner(env=env)
    added = runner.invoke(
        cli,
        [
            "centre",
            "site",
            "add",
            "--code",
            "site-a",
            "--url",
            "http://127.0.0.1:9",
            "--token",
            "secret",
            "--json",
        ],
    )
    assert added.exit_code == 0, added.output
    assert json.loads(added.output)["site_token"].startswith("cbtc_")
    listed = runner.invoke(cli, ["centre", "site", "list", "--json"])
    (row,) = json.loads(listed.output)
    assert row["code"] == "site-a" and row["status"] == "new" and row["kid"] is None
    again = runner.invoke(
        cli,
        ["centre", "site", "add", "--code", "site-a", "--url", "http://x", "--token", "t"],
    )
    assert again.exit_code == 1 and "registered already" in again.output
    trust = runner.invoke(cli, ["centre", "site", "trust-key", "--code", "site-a"])
    assert trust.exit_code == 1 and "offers no new key" in trust.output
    replaced = runner.invoke(
        cli, ["centre", "site", "set-token", "--code", "site-a", "--token", "new-secret"]
    )
    assert replaced.exit_code == 0, replaced.output
    empty = runner.invoke(cli, ["centre", "site", "set-token", "--code", "site-a", "--token", " "])
    assert empty.exit_code == 1 and "token:" in empty.output
    rewind = runner.invoke(cli, ["centre", "site", "rewind", "--code", "nope"])
    assert rewind.exit_code == 1 and "no site with code 'nope'" in rewind.output
