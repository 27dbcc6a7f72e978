"""Only formal sessions' results reach the centre: a rehearsal's never do (issue 20)."""

from __future__ import annotations

from sqlalchemy import update

from cbt_server.db.models import ExamSession
from tests.results.conftest import Site


async def test_rehearsal_results_never_reach_the_feed(site: Site) -> None:
    formal = [await site.seed.result("S1") for _ in range(2)]
    rehearsal = [await site.seed.result("S2") for _ in range(2)]
    async with site.sessionmaker.begin() as db:
        await db.execute(
            update(ExamSession).where(ExamSession.code == "S2").values(mode="rehearsal")
        )
    page = await site.page()
    tickets = [r["ticket"] for r in page["results"]]
    assert tickets == formal and not set(rehearsal) & set(tickets)
    assert (await site.page(session="S2"))["results"] == []


async def test_practice_results_never_reach_the_feed(site: Site) -> None:
    formal = await site.seed.result("S1")
    practice = [await site.seed.result("S3") for _ in range(2)]
    async with site.sessionmaker.begin() as db:
        await db.execute(
            update(ExamSession)
            .where(ExamSession.code == "S3")
            .values(mode="practice", feedback="item")
        )
    tickets = [r["ticket"] for r in (await site.page())["results"]]
    assert tickets == [formal] and not set(practice) & set(tickets)
    assert (await site.page(session="S3"))["results"] == []


async def test_a_rehearsal_session_is_not_described_to_the_centre(site: Site) -> None:
    """GET /api/v1/sessions/{code} describes the sessions whose results the feed carries:
    a rehearsal's code is unknown there, as its results are."""
    await site.seed.result("S1")
    await site.seed.result("S2")
    async with site.sessionmaker.begin() as db:
        await db.execute(
            update(ExamSession).where(ExamSession.code == "S2").values(mode="rehearsal")
        )
    status, body, _ = await site.get("/api/v1/sessions/S1")
    assert status == 200, body
    status, body, _ = await site.get("/api/v1/sessions/S2")
    assert (status, body["error"]["code"]) == (404, "not_found")
