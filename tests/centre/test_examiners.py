"""The examiner register: cross-assignment and the other rules, the site's fetch with its
token, and the CLI."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from click.testing import CliRunner

from cbt_server.centre import examiners
from cbt_server.centre.examiners import Candidacy, assignment_problem
from cbt_server.cli import cli
from cbt_server.errors import Conflict
from tests.centre.conftest import Centre

DAY = date(2026, 12, 12)


def _c(**changes: Any) -> Candidacy:
    values: dict[str, Any] = {
        "role": "examiner",
        "home_site": "site-a",
        "target_site": "site-b",
        "failed_checks": 0,
        "leader": False,
        "same_day_sites": (),
    }
    values.update(changes)
    return Candidacy(**values)


def test_the_rules() -> None:
    assert assignment_problem(_c()) is None
    assert "交叉委派" in str(assignment_problem(_c(target_site="site-a")))
    assert assignment_problem(_c(failed_checks=1)) is None
    assert "dismissed" in str(assignment_problem(_c(failed_checks=2)))
    assert "must be an examiner" in str(assignment_problem(_c(role="supervisor", leader=True)))
    assert assignment_problem(_c(role="supervisor", home_site=None)) is None
    assert "already assigned that day to site site-c" in str(
        assignment_problem(_c(same_day_sites=("site-c",)))
    )
    assert assignment_problem(_c(same_day_sites=("site-b",))) is None  # two sessions there


async def test_assignments_reach_only_their_site(centre: Centre, make_site: Any) -> None:
    site_a, site_b = await make_site("site-a"), await make_site("site-b")
    token_a = await centre.add_site(site_a)
    token_b = await centre.add_site(site_b)
    async with centre.sessionmaker.begin() as db:
        await examiners.add_examiner(db, "E1", "王考评", "examiner", "site-a", actor="li")
        await examiners.add_examiner(db, "Q1", "赵督导", "supervisor", None, actor="li")
        await examiners.assign(db, "E1", "site-b", "B-01", DAY, leader=True, actor="li")
        await examiners.assign(db, "Q1", "site-b", "B-01", DAY, actor="li")
    async with centre.sessionmaker.begin() as db:
        with pytest.raises(Conflict, match="交叉委派"):
            await examiners.assign(db, "E1", "site-a", "A-01", date(2026, 12, 13), actor="li")
        with pytest.raises(Conflict, match="already assigned that day to site site-b"):
            await examiners.assign(db, "Q1", "site-a", "A-02", DAY, actor="li")
    async with centre.sessionmaker.begin() as db:
        assert await examiners.record_failed_check(db, "E1", "late", actor="li") == 1
        assert await examiners.record_failed_check(db, "E1", "absent", actor="li") == 2
        with pytest.raises(Conflict, match="dismissed"):
            await examiners.assign(db, "E1", "site-b", "B-02", date(2026, 12, 20), actor="li")

    async with aiohttp.ClientSession() as http:

        async def fetch(token: str) -> tuple[int, Any]:
            async with http.get(
                centre.base_url + "/centre/api/v1/assignments",
                headers={"Authorization": f"Bearer {token}"},
            ) as resp:
                return resp.status, await resp.json()

        status, body = await fetch(token_b)
        assert status == 200 and body["site"] == "site-b"
        assert body["assignments"] == [
            {
                "code": "E1",
                "name": "王考评",
                "role": "proctor",
                "session": "B-01",
                "exam_date": "2026-12-12",
                "leader": True,
            },
            {
                "code": "Q1",
                "name": "赵督导",
                "role": "supervisor",
                "session": "B-01",
                "exam_date": "2026-12-12",
                "leader": False,
            },
        ]
        assert (await fetch(token_a))[1]["assignments"] == []
        assert (await fetch("nope"))[0] == 401


def test_cli(tmp_path: Path) -> None:
    runner = CliRunner(
        env={
            "CBT_DATA_DIR": str(tmp_path),
            "CBT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'centre.sqlite3'}",
        }
    )
    for code in ("site-a", "site-b"):
        added = runner.invoke(
            cli, ["centre", "site", "add", "--code", code, "--url", "http://x", "--token", "t"]
        )
        assert added.exit_code == 0, added.output
    base = ["centre", "examiner"]
    ok = runner.invoke(cli, [*base, "add", "--code", "E1", "--name", "王", "--home-site", "site-a"])
    assert ok.exit_code == 0, ok.output
    own = runner.invoke(
        cli,
        [
            *base,
            "assign",
            "--code",
            "E1",
            "--site",
            "site-a",
            "--session",
            "A",
            "--date",
            "2026-12-12",
        ],
    )
    assert own.exit_code == 1 and "交叉委派" in own.output
    other = runner.invoke(
        cli,
        [
            *base,
            "assign",
            "--code",
            "E1",
            "--site",
            "site-b",
            "--session",
            "B",
            "--date",
            "2026-12-12",
            "--leader",
        ],
    )
    assert other.exit_code == 0 and "assigned to site-b B on 2026-12-12" in other.output
    for n in (1, 2):
        failed = runner.invoke(cli, [*base, "failed-check", "--code", "E1", "--reason", "late"])
        assert failed.exit_code == 0 and f"{n} failed duty check" in failed.output
    assert "dismissed" in failed.output
