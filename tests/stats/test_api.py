"""GET /api/v1/statistics against a live server: the figures are those anyone recomputes
from GET /api/v1/results (independently, tests/stats/reference.py), the bank supplies
types and labels, filters select, and tokens are checked like the results API's."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select, update

from cbt_server.db.models import Candidate, ExamSession, Result
from cbt_server.item_store import store_items
from cbt_server.keys import CIPHER, ENGINE
from cbt_server.stats.documents import Statistics
from cbt_server.web import statistics_api
from item_bank.model import Item, Option
from tests.results.conftest import Site
from tests.stats import dataset, reference
from tests.stats.reference import assert_same


def _stored(row: dict[str, Any]) -> dict[str, Any]:
    """A published item row in the shape the grader stores (numbers, not strings)."""
    return {
        **row,
        "type": "single",
        "outcome": "correct" if row["correct"] else "wrong",
        "score": float(row["score"]),
        "max_score": float(row["max_score"]),
    }


async def _bank(site: Site) -> None:
    labels = ("A", "B", "C", "D")
    items = [
        Item(
            id=f"s{i:02d}",
            type="single",
            stem=f"第{i}题",
            key=("A",),
            options=tuple(Option(label, f"选项{label}") for label in labels),
        )
        for i in range(30)
    ]
    items.append(Item(id="dead", type="true_false", stem="判断", key=("true",)))
    async with site.sessionmaker.begin() as db:
        await store_items(db, site.server.app[CIPHER], items)


async def _pull(site: Site, session: str) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    params = {"session": session, "limit": "1000"}
    while True:
        page = await site.page(**params)
        documents += page["results"]
        if not page["results"]:
            return documents
        params["after"] = page["next"]


async def test_the_figures_are_those_recomputed_from_the_results_api(site: Site) -> None:
    for n, document in enumerate(dataset.documents(count=60)):
        rows = [_stored(r) for r in document["responses"]]
        await site.seed.result("S1" if n % 4 else "S2", ticket=document["ticket"], rows=rows)
    await _bank(site)
    status, body, _ = await site.get("/api/v1/statistics", {"session": "S1"})
    assert status == 200, body
    Statistics.model_validate(body)
    pulled = await _pull(site, "S1")
    assert body["selection"] == {
        "session": "S1",
        "occupation": None,
        "level": None,
        "final": None,
        "results": 45,
    }
    assert len(pulled) == 45
    bank = {k: v for k, v in dataset.bank().items() if k.startswith("s") or k == "dead"}
    assert_same(body["test"], reference.exam_figures(pulled), "test")
    want = reference.item_figures(pulled, bank)
    assert set(body["items"]) == set(want)
    for item_id, expected in want.items():
        assert_same({k: body["items"][item_id][k] for k in expected}, expected, item_id)
    assert body["items"]["s01"]["type"] == "single"
    assert body["items"]["s01"]["labels"] == ["A", "B", "C", "D"]
    assert body["items"]["m01"]["type"] is None  # not in this bank: labels as seen
    for got, expected in zip(body["slots"], reference.slot_figures(pulled, bank), strict=True):
        assert_same({k: got[k] for k in expected}, expected, f"slot {expected['slot']}")


async def test_filters_select_and_combine(site: Site) -> None:
    await site.seed.result("S1", correct=8, wrong=2)
    await site.seed.result("S2", correct=5, wrong=5, occupation="welder", level=4)
    await site.seed.result("S3", correct=3, wrong=7, occupation="welder", level=4, final=True)
    for params, count in (
        ({}, 3),
        ({"occupation": "welder", "level": "4"}, 2),
        ({"occupation": "welder", "level": "4", "final": "true"}, 1),
        ({"session": "nope"}, 0),
    ):
        status, body, _ = await site.get("/api/v1/statistics", params)
        assert status == 200, body
        assert body["selection"]["results"] == count, params
        assert body["test"]["n"] == count
    status, body, _ = await site.get("/api/v1/statistics", {"session": "nope"})
    assert body["items"] == {} and body["slots"] == [] and body["test"]["mean"] is None


async def test_practice_results_are_not_in_the_centres_figures(site: Site) -> None:
    await site.seed.result("S1", correct=8, wrong=2)
    await site.seed.result("S3", correct=3, wrong=7)
    async with site.sessionmaker.begin() as db:
        await db.execute(
            update(ExamSession).where(ExamSession.code == "S3").values(mode="practice")
        )
    # The API gives the centre formal results only (as /api/v1/results), even by code.
    for params, count in (({}, 1), ({"session": "S3"}, 0), ({"session": "S1"}, 1)):
        status, body, _ = await site.get("/api/v1/statistics", params)
        assert status == 200, body
        assert body["selection"]["results"] == count, params
    status, body, _ = await site.get("/api/v1/statistics", {})
    assert body["test"]["mean"] == 8.0


async def test_rehearsal_results_are_not_in_the_centres_figures(site: Site) -> None:
    """A rehearsal's (试考) results never leave the site (docs/results-api.md): not in
    the feed, and so not in the figures the centre recomputes from it."""
    await site.seed.result("S1", correct=8, wrong=2, occupation="welder", level=4)
    await site.seed.result("S2", correct=2, wrong=8, occupation="welder", level=4)
    async with site.sessionmaker.begin() as db:
        await db.execute(
            update(ExamSession).where(ExamSession.code == "S2").values(mode="rehearsal")
        )
    for params, count in (
        ({}, 1),
        ({"occupation": "welder", "level": "4"}, 1),
        ({"session": "S2"}, 0),
    ):
        status, body, _ = await site.get("/api/v1/statistics", params)
        assert status == 200, body
        assert body["selection"]["results"] == count, params
        assert body["test"]["n"] == count
    assert body["items"] == {}
    pulled = await _pull(site, "S1")
    status, body, _ = await site.get("/api/v1/statistics")
    assert body["test"]["mean"] == float(pulled[0]["score"])


async def test_tokens_and_bad_parameters_are_refused(site: Site) -> None:
    status, body, headers = await site.get("/api/v1/statistics", token=None)
    assert status == 401 and body["error"]["code"] == "not_authenticated"
    assert headers["WWW-Authenticate"].startswith("Bearer")
    status, body, _ = await site.get("/api/v1/statistics", token=site.lab_token)
    assert status == 403
    status, body, _ = await site.get("/api/v1/statistics", {"level": "9"})
    assert status == 400 and "level" in body["error"]["message"]


async def test_one_computation_at_a_time(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    running, most = 0, 0
    real = statistics_api.selection_statistics

    async def slow(*args: Any) -> dict[str, Any]:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.05)
        try:
            return await real(*args)
        finally:
            running -= 1

    monkeypatch.setattr(statistics_api, "selection_statistics", slow)
    answers = await asyncio.gather(*(site.get("/api/v1/statistics") for _ in range(4)))
    assert [status for status, _, _ in answers] == [200] * 4
    assert most == 1


async def test_an_unreadable_stored_result_is_named_not_a_crash(site: Site) -> None:
    await site.seed.result("S1", ticket="T-ok")
    await site.seed.result("S1", ticket="T-bad")
    async with site.server.app[ENGINE].begin() as db:  # an edit behind the server's back
        bad = select(Candidate.id).where(Candidate.ticket == "T-bad").scalar_subquery()
        await db.execute(
            update(Result).where(Result.candidate_id == bad).values(responses=[{"response": ["A"]}])
        )
    status, body, _ = await site.get("/api/v1/statistics", {"session": "S1"})
    assert status == 409, body
    assert body["error"]["code"] == "unreadable_result"
    assert "T-bad" in body["error"]["message"] and "item_id" in body["error"]["message"]
