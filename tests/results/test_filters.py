"""Filters (session, occupation, level, final) on the JSON feed, and the published shape."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from cbt_server.db.models import Result
from tests.results.conftest import Site


async def _seed_mix(site: Site) -> dict[str, str]:
    return {
        "elec3": await site.seed.result("E3-A", occupation="electrician", level=3),
        "elec3_final": await site.seed.result(
            "E3-B", occupation="electrician", level=3, final=True
        ),
        "child5": await site.seed.result("C5-A", occupation="childcare", level=5),
        "child4": await site.seed.result("C4-A", occupation="childcare", level=4, final=True),
    }


async def _tickets(site: Site, **params: str) -> list[str]:
    return [r["ticket"] for r in (await site.page(**params))["results"]]


async def test_filters_select_exactly_the_matching_results(site: Site) -> None:
    t = await _seed_mix(site)
    assert await _tickets(site) == [t["elec3"], t["elec3_final"], t["child5"], t["child4"]]
    assert await _tickets(site, session="E3-B") == [t["elec3_final"]]
    assert await _tickets(site, occupation="childcare") == [t["child5"], t["child4"]]
    assert await _tickets(site, level="3") == [t["elec3"], t["elec3_final"]]
    assert await _tickets(site, final="true") == [t["elec3_final"], t["child4"]]
    assert await _tickets(site, final="false") == [t["elec3"], t["child5"]]
    assert await _tickets(site, occupation="childcare", final="false") == [t["child5"]]
    assert await _tickets(site, session="NO-SUCH") == []


async def test_filtered_cursor_catches_results_finalised_later(site: Site) -> None:
    """A centre pulling only final results gets a result when it becomes final, even
    though it was graded before the cursor's position."""
    early = await site.seed.result("S1")
    later = await site.seed.result("S2", final=True)
    page = await site.page(final="true")
    assert [r["ticket"] for r in page["results"]] == [later]
    async with site.sessionmaker.begin() as db:
        result = await db.scalar(select(Result).order_by(Result.id).limit(1))
        assert result is not None
        result.final = True  # the examiner leader signs session S1
    again = await site.page(final="true", after=page["next"])
    assert [r["ticket"] for r in again["results"]] == [early]


async def test_published_result_has_every_field(site: Site) -> None:
    ticket = await site.seed.result("S1", name="欧阳娜娜", correct=2, wrong=1)
    [result] = (await site.page())["results"]
    assert result["ticket"] == ticket
    assert result["name"] == "欧阳娜娜"
    assert len(result["id_number"]) == 18
    assert (result["occupation"], result["level"]) == ("electrician", 3)
    assert (result["session"], result["room"], result["seat"]) == ("S1", "R-S1", 1)
    assert result["paper_id"] == f"P-{ticket}"
    for name in ("started_at", "submitted_at", "graded_at"):
        assert result[name].endswith("+00:00")
        assert datetime.fromisoformat(result[name]).utcoffset() is not None
    assert (result["score"], result["max_score"], result["pass_mark"]) == ("2.00", "3.00", "60.00")
    assert result["passed"] is False and result["final"] is False
    assert result["responses"][0] == {
        "item_id": "electrician-3-0000",
        "response": ["A"],
        "correct": True,
        "score": "1.00",
        "max_score": "1.00",
    }
    assert len(result["responses"]) == 3
    assert len(result["signature"]) == 88  # base64 of 64 bytes
