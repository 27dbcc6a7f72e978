"""A paper request's roster marks 补考 (resit) candidates: the centre accepts a resit of a
failed part at its original site and refuses a resit of a part still validly passed,
naming the person and why, with nothing stored. Approval from the centre's CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from cbt_server.centre.models import CentrePaperRequest
from cbt_server.db.models import Candidate, Result
from cbt_server.keys import SETTINGS
from tests.centre.conftest import Centre, SiteServer
from tests.centre.papers_kit import Clock, cli, with_blueprint

HEADER = "准考证号,身份证号,姓名,职业,等级,场次,座位号,补考\n"


async def _final(site: SiteServer, ticket: str) -> str:
    """Sign the result off (final) as the site's examiner leader would; its ID number."""
    async with site.sessionmaker.begin() as db:
        candidate = await db.scalar(select(Candidate).where(Candidate.ticket == ticket))
        assert candidate is not None
        result = await db.scalar(select(Result).where(Result.candidate_id == candidate.id))
        assert result is not None
        result.final = True
        return candidate.id_number


def _roster(path: Path, *rows: tuple[str, str, str]) -> Path:
    lines = [f"R{n},{number},{name},electrician,3,S-RESIT,{n},{mark}\n"
             for n, (number, name, mark) in enumerate(rows, 1)]  # fmt: skip
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


async def _send(centre: Centre, token: str, roster: Path) -> tuple[int, str]:
    return await cli(
        "centre", "request", "send", "--centre", centre.base_url, "--token", token,
        "--occupation", "electrician", "--level", "3", "--session", "S-RESIT",
        "--date", "2026-12-11", "--candidates", "10", "--roster", str(roster),
    )  # fmt: skip


async def _requests(centre: Centre) -> int:
    async with centre.sessionmaker() as db:
        return int(await db.scalar(select(func.count()).select_from(CentrePaperRequest)) or 0)


async def test_a_resit_of_a_passed_part_is_refused_and_of_a_failed_part_accepted(
    clock: Clock, centre: Centre, make_site: Any, tmp_path: Path
) -> None:
    site_a, site_b = await make_site("site-a"), await make_site("site-b")
    token_a, token_b = await centre.add_site(site_a), await centre.add_site(site_b)
    await site_a.seed.result("A1", name="张三", ticket="A0001", correct=80, wrong=20)
    await site_b.seed.result("B1", name="李四", ticket="B0001", correct=40, wrong=60)
    passer, failer = await _final(site_a, "A0001"), await _final(site_b, "B0001")
    reports = await centre.pull()
    assert reports["site-a"]["pulled"] == 1 and reports["site-b"]["pulled"] == 1

    # Site A marks the person who passed as a resit: refused, named, nothing stored.
    code, out = await _send(centre, token_a, _roster(tmp_path / "a.csv", (passer, "张三", "是")))
    assert code != 0 and passer in out and "passed and valid until" in out, out
    # Site A marks the person who failed at site B: a resit is taken at site B.
    code, out = await _send(centre, token_a, _roster(tmp_path / "a2.csv", (failer, "李四", "是")))
    assert code != 0 and "original site site-b" in out, out
    # A 补考 mark that is neither yes nor no: the site's CLI refuses the file.
    code, out = await _send(
        centre, token_b, _roster(tmp_path / "bad.csv", (failer, "李四", "也许"))
    )
    assert code != 0 and "补考" in out
    assert await _requests(centre) == 0

    # Site B's resit of the part it failed: accepted, the centre's answer kept.
    roster = _roster(tmp_path / "b.csv", (failer, "李四", "是"), (passer, "张三", ""))
    code, out = await _send(centre, token_b, roster)
    assert code == 0 and "1 resit(s)" in out, out
    async with centre.sessionmaker() as db:
        (request,) = await db.scalars(select(CentrePaperRequest))
    resit, new = request.roster
    assert resit["resit"] and resit["resit_check"].startswith("accepted")
    assert not new["resit"] and "resit_check" not in new

    # The centre approves it from its CLI (no blueprint yet: refused, then approved).
    settings = centre.app[SETTINGS]
    env = {"CBT_DATABASE_URL": settings.database_url, "CBT_DATA_DIR": str(settings.data_path)}
    code, out = await cli("centre", "request", "approve", str(request.id), env=env)
    assert code != 0 and "no blueprint for electrician level 3" in out
    await with_blueprint(centre)
    code, out = await cli("centre", "request", "approve", str(request.id), env=env)
    assert code == 0 and "approved: package" in out, out
    code, out = await cli("centre", "request", "list", "--json", env=env)
    assert code == 0 and '"status": "approved"' in out and '"approved_by": "cli:' in out
    code, out = await cli("centre", "issuer-key", env=env)
    assert code == 0 and out.startswith("-----BEGIN PUBLIC KEY-----")
