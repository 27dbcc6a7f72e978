"""The centre and two sites as real servers: results pulled, verified, re-graded, final
after sign-off, a person's history and resit decisions, tampered scores flagged."""

from __future__ import annotations

from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, text

from cbt_server.centre.models import CentreRejection, CentreResult
from cbt_server.db.models import Candidate, Result
from cbt_server.keys import ENGINE
from cbt_server.results.signing import SiteKey
from tests.centre.conftest import Centre, SiteServer


async def _result_row(site: SiteServer, ticket: str) -> tuple[Result, Candidate]:
    async with site.sessionmaker() as db:
        candidate = await db.scalar(select(Candidate).where(Candidate.ticket == ticket))
        assert candidate is not None
        result = await db.scalar(select(Result).where(Result.candidate_id == candidate.id))
        assert result is not None
        return result, candidate


async def _sign_off(site: SiteServer, ticket: str) -> None:
    """The examiner leader's sign-off as the site stores it: `final` set through the ORM
    (the site re-signs the result and puts it back in the feed)."""
    async with site.sessionmaker.begin() as db:
        candidate = await db.scalar(select(Candidate).where(Candidate.ticket == ticket))
        assert candidate is not None
        result = await db.scalar(select(Result).where(Result.candidate_id == candidate.id))
        assert result is not None
        result.final = True


async def _count(centre: Centre, model: Any) -> int:
    async with centre.sessionmaker() as db:
        return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def _states(centre: Centre, code: str) -> dict[str, str]:
    status, body = await centre.get("/centre/api/sites")
    assert status == 200
    (site,) = [s for s in body["sites"] if s["code"] == code]
    return {s["state"]: s["reason"] for s in site["states"]}


async def test_results_flow_from_two_sites_into_a_persons_history(
    centre: Centre, make_site: Any
) -> None:
    site_a, site_b = await make_site("site-a"), await make_site("site-b")
    token_a = await centre.add_site(site_a)
    assert token_a.startswith("cbtc_")
    token_b = await centre.add_site(site_b)
    # One person: passes electrician 3 at site A; another fails at site B.
    passer = await site_a.seed.result("A1", name="张三", ticket="A0001", correct=80, wrong=20)
    failer = await site_b.seed.result("B1", name="李四", ticket="B0001", correct=40, wrong=60)
    for n in range(5):
        await site_a.seed.result("A1", correct=60 + n, wrong=40 - n)

    reports = await centre.pull()
    assert reports["site-a"]["pulled"] == 6 and reports["site-a"]["status"] == "ok"
    assert reports["site-b"]["pulled"] == 1 and reports["site-b"]["mismatched"] == 0
    assert await _count(centre, CentreResult) == 7
    # Pulling again brings nothing new and doubles nothing.
    again = await centre.pull()
    assert again["site-a"]["pulled"] == 0 and await _count(centre, CentreResult) == 7

    _, passer_row = await _result_row(site_a, passer)
    _, failer_row = await _result_row(site_b, failer)
    # Not signed off yet: nothing decided.
    status, body = await centre.get(f"/centre/api/people/{passer_row.id_number}")
    assert status == 200
    (part,) = body["parts"]
    assert part["state"] == "pending" and "signed off" in part["reason"]

    await _sign_off(site_a, passer)
    await _sign_off(site_b, failer)
    reports = await centre.pull()
    assert reports["site-a"]["pulled"] == 1 and reports["site-b"]["pulled"] == 1
    assert await _count(centre, CentreResult) == 7  # replaced, not added

    status, body = await centre.get(f"/centre/api/people/{passer_row.id_number}")
    (part,) = body["parts"]
    assert part["state"] == "passed" and part["valid_until"] == "2027-12-05"
    assert part["attempts"][0]["site"] == "site-a" and part["attempts"][0]["final"] is True
    status, body = await centre.get(f"/centre/api/people/{failer_row.id_number}")
    (part,) = body["parts"]
    assert part["state"] == "failed" and part["may_resit"] and part["resit_site"] == "site-b"

    query = {"occupation": "electrician", "level": "3"}
    status, body = await centre.get(f"/centre/api/people/{passer_row.id_number}/resit", **query)
    assert (
        status == 200 and body["accepted"] is False and "valid until 2027-12-05" in body["reason"]
    )
    status, body = await centre.get(f"/centre/api/people/{failer_row.id_number}/resit", **query)
    assert body["accepted"] is True
    status, body = await centre.get(
        f"/centre/api/people/{failer_row.id_number}/resit", **query, site="site-a"
    )
    assert body["accepted"] is False and "original site site-b" in body["reason"]
    status, body = await centre.get("/centre/api/people/123/resit", **query)
    assert status == 400 and body["error"]["code"] == "invalid_input"
    # A site asks with the token the centre issued it: its own code is the resit site.
    async with aiohttp.ClientSession() as http:

        async def ask(token: str, id_number: str) -> tuple[int, Any]:
            async with http.get(
                centre.base_url + "/centre/api/v1/resit",
                params={"id_number": id_number, **query},
                headers={"Authorization": f"Bearer {token}"},
            ) as resp:
                return resp.status, await resp.json()

        assert (await ask(token_b, failer_row.id_number))[1]["accepted"] is True
        status, body = await ask(token_a, failer_row.id_number)
        assert body["accepted"] is False and "original site site-b" in body["reason"]
        status, body = await ask(token_a, passer_row.id_number)
        assert status == 200 and body["accepted"] is False
        status, body = await ask("cbtc_not-a-token", passer_row.id_number)
        assert status == 401 and body["error"]["code"] == "not_authenticated"

    # The history page and the dashboard show it, with the chart inline and no script.
    status, page = await centre.get("/centre/people", id_number=passer_row.id_number)
    assert status == 200 and b'data-state="passed"' in page and b"2027-12-05" in page
    status, page = await centre.get("/centre")
    assert status == 200 and b"<svg" in page and b"<script" not in page
    status, body = await centre.get("/centre/api/summary")
    (group,) = body["groups"]
    assert group["results"] == 7 and group["passed"] == 6 and group["final"] == 2
    assert await _states(centre, "site-a") == {}


async def test_tampered_scores_are_flagged_never_accepted(centre: Centre, make_site: Any) -> None:
    site = await make_site("site-a")
    await centre.add_site(site)
    honest = await site.seed.result("S1", ticket="T-OK", correct=70, wrong=30)
    own_key = await site.seed.result("S1", ticket="T-OWNKEY", correct=50, wrong=50)
    other_key = await site.seed.result("S1", ticket="T-OTHERKEY", correct=50, wrong=50)
    # The site's own key signs a wrong score: the ORM re-signs the edited result.
    result, _ = await _result_row(site, own_key)
    async with site.sessionmaker.begin() as db:
        row = await db.get(Result, result.id)
        assert row is not None
        row.score, row.passed = 65.0, True
    # Someone re-signs a wrong score with another key, behind the ORM's back.
    await _resign_with_other_key(site, other_key)

    reports = await centre.pull()
    report = reports["site-a"]
    assert report["pulled"] == 2 and report["refused"] == 1 and report["mismatched"] == 1
    async with centre.sessionmaker() as db:
        rows = {r.ticket: r for r in await db.scalars(select(CentreResult))}
        (rejected,) = list(await db.scalars(select(CentreRejection)))
    assert rows[honest].status == "ok" and rows[honest].centre_score == "70.00"
    flagged = rows[own_key]
    assert flagged.status == "mismatch" and flagged.site_score == "65.00"
    assert flagged.centre_score == "50.00" and "score: site 65.00, centre 50.00" in flagged.reason
    assert rejected.ticket == other_key and "signature" in rejected.reason
    states = await _states(centre, "site-a")
    assert "1 result(s) refused" in states["bad_signature"]
    assert "1 result(s)" in states["score_mismatch"]
    status, page = await centre.get("/centre")
    assert b"T-OWNKEY" in page and b"score: site 65.00, centre 50.00" in page
    # A flagged pass is no pass: the person's part stays under review after sign-off.
    status, body = await centre.get(f"/centre/api/people/{flagged.id_number}")
    assert body["parts"][0]["state"] == "pending" and "re-grade" in body["parts"][0]["reason"]


async def _resign_with_other_key(site: SiteServer, ticket: str) -> None:
    """Change a result's score to 90 in the database and sign the changed document with a
    key that is not the site's."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            site.url + "/api/v1/results",
            headers={"Authorization": f"Bearer {site.token}"},
            params={"limit": "1000"},
        ) as resp,
    ):
        (document,) = [r for r in (await resp.json())["results"] if r["ticket"] == ticket]
    document = {k: v for k, v in document.items() if k != "signature"}
    document["score"], document["passed"] = "90.00", True
    signature = SiteKey(Ed25519PrivateKey.generate()).sign(document)
    result, _ = await _result_row(site, ticket)
    async with site.server.app[ENGINE].begin() as conn:
        await conn.execute(
            text("UPDATE results SET score = 90.0, passed = :yes, signature = :sig WHERE id = :id"),
            {"yes": True, "sig": signature, "id": result.id},
        )


async def test_a_signed_result_the_centre_cannot_hold_is_refused_not_stuck(
    centre: Centre, make_site: Any
) -> None:
    site = await make_site("site-a")
    await centre.add_site(site)
    long_id = await site.seed.result("S1", ticket="T-LONG")
    good = await site.seed.result("S1", ticket="T-GOOD")
    async with site.sessionmaker.begin() as db:
        _, candidate = await _result_row(site, long_id)
        row = await db.get(Candidate, candidate.id)
        assert row is not None
        row.id_number = "3" * 30  # re-signs the result: signed, but no ID-card number
    report = (await centre.pull())["site-a"]
    assert report["status"] == "ok" and report["pulled"] == 1 and report["refused"] == 1
    async with centre.sessionmaker() as db:
        (rejected,) = list(await db.scalars(select(CentreRejection)))
        tickets = list(await db.scalars(select(CentreResult.ticket)))
    assert tickets == [good] and rejected.ticket == long_id
    assert "id_number is longer than the centre keeps (18)" in rejected.reason
