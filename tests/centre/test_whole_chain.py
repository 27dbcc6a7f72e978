"""The whole chain in one test, with a centre (SQLite, and PostgreSQL when CBT_TEST_PG_URL
is set) and two SQLite sites as real servers: paper request → approval → package pulled
and imported at the site → examiners pulled as staff accounts → exam over the real
WebSocket protocol, proctored by the pulled examiner leader → results pulled, verified,
re-graded → final after the examiner leader's sign-off → history with the pass and its
validity → a resit enrolment accepted for a failed part and refused for a passed one.

The exam day is today in China Standard Time: the package is valid on that day only, and
the site starts the session on its own clock (a run across midnight CST would fail)."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select

from cbt_server.centre import examiners
from cbt_server.centre.issuer import issuer_public_pem
from cbt_server.centre.regrade import CHINA
from cbt_server.db import models
from cbt_server.db.types import utcnow
from cbt_server.enrolment.roster import import_roster, prepare_papers
from cbt_server.enrolment.sample import Person
from cbt_server.enrolment.sessions import SessionSpec, create_session
from cbt_server.idcard import make_number
from cbt_server.keys import CIPHER, SETTINGS
from cbt_server.packages import import_package
from item_bank.seal import load_verify_key
from tests.auth.factories import new_client, try_login
from tests.centre.conftest import Centre, SiteServer
from tests.centre.papers_kit import cli, with_blueprint
from tests.runtime.wsclient import Client, candidate_login, command, proctor_open
from tests.waiting import wait_until

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Sitting:
    """One candidate and how many of the ten items they answer right (pass mark 6)."""

    person: Person
    right: int


async def _site_call(centre: Centre, token: str, method: str, path: str, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.request(method, centre.base_url + path, json=body) as resp,
    ):
        return resp.status, await resp.json()


def _env(site: SiteServer) -> dict[str, str]:
    settings = site.server.app[SETTINGS]
    return {"CBT_DATABASE_URL": settings.database_url, "CBT_DATA_DIR": str(settings.data_path)}


def _roster(tmp: Path, session: str, people: list[Person], *, resit: bool = False) -> Path:
    """The site's roster file (CSV), as sent with the request and imported at the site."""
    path = tmp / f"roster-{session}.csv"
    mark = "是" if resit else "否"
    rows = [
        f"{p.ticket},{p.id_number},{p.name},electrician,3,{session},{p.seat},{mark}" for p in people
    ]
    path.write_text(
        "准考证号,身份证号,姓名,职业,等级,场次,座位号,补考\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    return path


async def _send_request(
    centre: Centre, token: str, session: str, day: date, roster: Path
) -> tuple[int, str]:
    send = ["centre", "request", "send", "--centre", centre.base_url, "--token", token]
    return await cli(*send, "--occupation", "electrician", "--level", "3",
                     "--session", session, "--date", day.isoformat(),
                     "--candidates", "2", "--roster", str(roster), "--json")  # fmt: skip


async def _papers_at_the_site(
    centre: Centre, site: SiteServer, token: str, day: date, roster: Path, tmp: Path
) -> int:
    """The site requests the papers with its roster (CLI), the centre approves them
    (page), the site fetches the package and the day's key (CLI) and imports it; the
    session is made, the roster imported and each candidate's paper assembled."""
    session = roster.stem.removeprefix("roster-")
    code, out = await _send_request(centre, token, session, day, roster)
    assert code == 0, out
    rid = str(json.loads(out)["id"])
    status, _ = await centre.post(f"/centre/requests/{rid}/approve")
    assert status == 303
    common = ["--centre", centre.base_url, "--token", token, "--request", rid]
    package, key = tmp / f"{session}.cbtpkg", tmp / f"{session}.key"
    code, out = await cli("package", "fetch", *common, "--out", str(package))
    assert code == 0, out
    code, out = await cli("package", "key", *common, "--out", str(key))
    assert code == 0, out
    verify = tmp / "centre-issuer.pem"
    verify.write_text(issuer_public_pem(centre.app[SETTINGS].data_path))
    roster_bytes = await asyncio.to_thread(roster.read_bytes)
    async with site.sessionmaker.begin() as db:
        await import_package(
            db, site.server.app[CIPHER], package.read_bytes(), key.read_bytes(),
            load_verify_key(verify), actor="site-admin",
        )  # fmt: skip
        spec = SessionSpec(
            code=session, blueprint_id="electrician-3-centre", room_code=f"LAB-{session}",
            seats=2, scheduled_at=utcnow() + timedelta(minutes=1),
        )  # fmt: skip
        exam = await create_session(db, spec, actor="site-admin")
        assert exam.mode == "formal"
        await import_roster(db, roster_bytes, roster.name, actor="site-admin")
        await prepare_papers(db, site.server.app[CIPHER], session)
        return exam.id


async def _sit(client: Client, state: dict[str, Any], right: int) -> dict[str, Any]:
    items = [i for section in state["paper"]["sections"] for i in section["items"]]
    assert len(items) == 10
    for index, item in enumerate(items):  # every key of the centre's bank is A
        seq = await client.next_seq()
        response = ["A"] if index < right else ["B"]
        await client.send(
            {"type": "answer", "seq": seq, "item_id": item["item_id"], "response": response}
        )
        await client.expect("ack", seq=seq)
    seq = await client.next_seq()
    await client.send({"type": "submit", "seq": seq})
    return await client.expect("submitted", wait=30)


async def _exam(
    site: SiteServer, session_id: int, sittings: list[Sitting], leader: tuple[str, str]
) -> None:
    """The examiner leader signs in with the pulled account and opens check-in over
    /ws/proctor; the candidates log in over /ws/candidate; the leader starts; each
    answers and submits."""
    http = new_client()
    try:
        assert (await try_login(http, site.url, *leader)).status == 303
        (cookie,) = [c.value for c in http.cookie_jar if c.key == "cbt_staff"]
    finally:
        await http.close()
    proctor, _ = await proctor_open(site.server.ws_url, cookie, session_id)
    await command(proctor, "open_checkin")
    logins = [
        await candidate_login(site.server.ws_url, s.person.ticket, s.person.id_number)
        for s in sittings
    ]
    await command(proctor, "start")
    started = [await client.expect("state") for client, _ in logins]
    results = await asyncio.gather(
        *(_sit(c, st, s.right) for (c, _), st, s in zip(logins, started, sittings, strict=True))
    )
    assert [r["reason"] for r in results] == ["candidate"] * len(sittings)

    async def graded() -> dict[str, float]:
        async with site.sessionmaker() as db:
            rows = await db.execute(
                select(models.Candidate.ticket, models.Result.score)
                .join(models.Result, models.Result.candidate_id == models.Candidate.id)
                .where(models.Result.session_id == session_id)
            )
            found = {str(ticket): float(score) for ticket, score in rows}
        return found if len(found) == len(sittings) else {}

    scores = await wait_until(graded, "the site's grading of the submitted papers")
    assert scores == {s.person.ticket: s.right for s in sittings}
    for client, _ in logins:
        await client.close()
    await proctor.close()


async def _leader_signs(site: SiteServer, username: str, password: str, session: str) -> None:
    """The examiner leader the centre assigned signs in with the account the assignments
    pull made and signs the score summary: the session's results become final."""
    http = new_client()
    try:
        assert (await try_login(http, site.url, username, password)).status == 303
        summary = f"{site.url}/paperwork/sessions/{session}/score-summary"
        async with http.get(summary) as resp:
            assert resp.status == 200, await resp.text()
            found = _CSRF.search(await resp.text())
        assert found, "the leader sees the sign form"
        sign = f"{site.url}/paperwork/sessions/{session}/sign"
        async with http.post(
            sign, data={"csrf_token": found.group(1)}, allow_redirects=False
        ) as resp:
            assert resp.status == 303, await resp.text()
    finally:
        await http.close()


def _person(ticket: str, id_number: str, name: str, seat: int) -> Person:
    return Person(ticket=ticket, id_number=id_number, name=name, seat=seat)


async def test_request_to_resit_through_a_centre_and_two_sites(
    centre: Centre, make_site: Any, tmp_path: Path
) -> None:
    site_a, site_b = await make_site("site-a"), await make_site("site-b")
    token_a, token_b = await centre.add_site(site_a), await centre.add_site(site_b)
    await with_blueprint(centre)
    day = utcnow().astimezone(CHINA).date()
    passer = _person("A-0001", make_number("110105", date(1980, 3, 1), 11), "张三", 1)
    failer = _person("A-0002", make_number("110105", date(1981, 4, 2), 12), "李四", 2)
    other = _person("B-0001", make_number("320102", date(1990, 5, 3), 13), "王五", 1)

    # Papers out to both sites with their rosters, imported; each makes its formal
    # session of the day and seats its roster.
    roster_a = _roster(tmp_path, "A-01", [passer, failer])
    roster_b = _roster(tmp_path, "B-01", [other])
    session_a = await _papers_at_the_site(centre, site_a, token_a, day, roster_a, tmp_path)
    session_b = await _papers_at_the_site(centre, site_b, token_b, day, roster_b, tmp_path)

    # The centre's examiners, cross-assigned; each site pulls its leader as an account.
    async with centre.sessionmaker.begin() as db:
        await examiners.add_examiner(db, "E-0001", "王考评", "examiner", "site-b", actor="t")
        await examiners.add_examiner(db, "E-0002", "李考评", "examiner", "site-a", actor="t")
        await examiners.assign(db, "E-0001", "site-a", "A-01", day, leader=True, actor="t")
        await examiners.assign(db, "E-0002", "site-b", "B-01", day, leader=True, actor="t")
    passwords: dict[str, str] = {}
    for site, token in ((site_a, token_a), (site_b, token_b)):
        pull = ["centre", "assignments", "pull", "--centre", centre.base_url, "--token", token]
        code, out = await cli(*pull, "--json", env=_env(site))
        assert code == 0, out
        (made,) = json.loads(out)["assignments"]
        assert made["status"] == "created" and made["leader"] is True
        passwords[made["username"]] = made["password"]

    # The exams, over the real protocol: at A one passes and one fails, at B one passes.
    leader_a, leader_b = ("E-0001", passwords["E-0001"]), ("E-0002", passwords["E-0002"])
    await _exam(site_a, session_a, [Sitting(passer, 8), Sitting(failer, 3)], leader_a)
    await _exam(site_b, session_b, [Sitting(other, 10)], leader_b)

    # Pulled, verified, re-graded: held, none final yet.
    reports = await centre.pull()
    assert reports["site-a"]["pulled"] == 2 and reports["site-a"]["mismatched"] == 0
    assert reports["site-b"]["pulled"] == 1 and reports["site-b"]["refused"] == 0
    status, body = await centre.get(f"/centre/api/people/{passer.id_number}")
    assert status == 200 and body["parts"][0]["state"] == "pending"

    # The leaders sign off at their sites; the next pull makes the results final.
    await _leader_signs(site_a, "E-0001", passwords["E-0001"], "A-01")
    await _leader_signs(site_b, "E-0002", passwords["E-0002"], "B-01")
    reports = await centre.pull()
    assert reports["site-a"]["pulled"] == 2 and reports["site-b"]["pulled"] == 1
    status, body = await centre.get("/centre/api/summary")
    (group,) = body["groups"]
    assert group["results"] == 3 and group["passed"] == 2 and group["final"] == 3

    # The history: the pass valid for a year from the exam date, the fail open to resit.
    try:
        valid_until = day.replace(year=day.year + 1)
    except ValueError:  # 29 February: valid through 28 February
        valid_until = day.replace(year=day.year + 1, day=28)
    status, body = await centre.get(f"/centre/api/people/{passer.id_number}")
    (part,) = body["parts"]
    assert part["state"] == "passed" and part["valid_until"] == valid_until.isoformat()
    assert part["attempts"][0]["site"] == "site-a" and part["attempts"][0]["final"] is True
    status, body = await centre.get(f"/centre/api/people/{failer.id_number}")
    (part,) = body["parts"]
    assert part["state"] == "failed" and part["may_resit"] and part["resit_site"] == "site-a"

    # The next paper request (CLI, its roster's 补考 column): a resit of the failed part
    # is accepted; a resit of the passed part refuses the request, nothing kept.
    later = day + timedelta(days=10)
    resit = _roster(tmp_path, "A-02", [failer], resit=True)
    code, out = await _send_request(centre, token_a, "A-02", later, resit)
    assert code == 0 and '"status": "requested"' in out, out
    refused = _roster(tmp_path, "A-03", [passer], resit=True)
    code, out = await _send_request(centre, token_a, "A-03", later, refused)
    assert code != 0 and passer.id_number in out, out
    assert f"valid until {valid_until.isoformat()}" in out
    status, body = await centre.get("/centre/api/requests")
    by_session = {r["session"]: r for r in body["requests"]}
    assert sorted(by_session) == ["A-01", "A-02", "B-01"] and by_session["A-02"]["resits"] == 1
