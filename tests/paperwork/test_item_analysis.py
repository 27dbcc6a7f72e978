"""The item analysis page (试题分析): who may see it, and that it shows the figures of
the statistics core, the items' text and option shares, flagged items first, sortable,
with the facility × discrimination chart."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, update

from cbt_server.db.models import Candidate, ExamSession, Paper, Result
from cbt_server.item_store import store_items
from cbt_server.keys import CIPHER, SESSIONMAKER
from cbt_server.stats.arrays import from_documents
from cbt_server.stats.compute import statistics
from item_bank.model import Item, Option
from tests.auth.factories import T0, Site, new_client, signed_in
from tests.conftest import LiveServer
from tests.stats import dataset

PATH = "/paperwork/sessions/S1/item-analysis"


async def _seed(server: LiveServer, site: Site) -> list[dict[str, Any]]:
    """S1's results replaced by 40 of the generated data set; the bank's single items."""
    documents = dataset.documents(count=40)
    maker = server.app[SESSIONMAKER]
    items = [
        Item(
            id=f"s{i:02d}",
            type="single",
            stem=f"电工第{i}题：下列哪项正确？",
            key=("A",),
            options=tuple(Option(label, f"选项{label}{i}") for label in "ABCD"),
        )
        for i in range(30)
    ]
    async with maker.begin() as db:
        await store_items(db, server.app[CIPHER], items)
        await db.execute(delete(Result).where(Result.session_id == site.s1))
        for n, document in enumerate(documents):
            candidate = Candidate(
                ticket=document["ticket"],
                id_number=f"330204199001{n:04d}X",
                name=f"考生{n}",
                occupation="electrician",
                level=3,
                session_id=site.s1,
                seat=100 + n,
                state="graded",
            )
            db.add(candidate)
            await db.flush()
            paper = Paper(
                id=f"ia-{n}",
                candidate_id=candidate.id,
                session_id=site.s1,
                blueprint_id="bp-e3",
                seed="x",
                layout={},
            )
            db.add(paper)
            await db.flush()
            rows = [
                {**r, "score": float(r["score"]), "max_score": float(r["max_score"])}
                for r in document["responses"]
            ]
            db.add(
                Result(
                    candidate_id=candidate.id,
                    session_id=site.s1,
                    paper_id=paper.id,
                    score=float(document["score"]),
                    max_score=float(sum(r["max_score"] for r in rows)),
                    pass_mark=60.0,
                    passed=document["passed"],
                    started_at=T0,
                    submitted_at=T0 + timedelta(minutes=80),
                    submit_reason="candidate",
                    responses=rows,
                )
            )
    return documents


async def _page(base: str, who: str, query: str = "") -> tuple[int, str]:
    http, _ = await signed_in(base, who)
    async with http, http.get(f"{base}{PATH}{query}", allow_redirects=False) as resp:
        return resp.status, await resp.text()


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin", 200),
        ("leader", 200),
        ("proctor", 200),
        ("supervisor", 200),
        ("outsider", 403),
        ("visitor", 403),
    ],
)
async def test_who_may_see_it(staff_server: LiveServer, who: str, status: int) -> None:
    got, _ = await _page(staff_server.base_url, who)
    assert got == status


async def test_anonymous_visitors_are_sent_to_sign_in(staff_server: LiveServer) -> None:
    async with (
        new_client() as http,
        http.get(f"{staff_server.base_url}{PATH}", allow_redirects=False) as resp,
    ):
        assert resp.status == 303
        assert resp.headers["Location"].startswith("/staff/login")


def _items_in_order(html: str) -> list[str]:
    return re.findall(r'<tbody class="item[^"]*" data-item="([^"]+)"', html)


def _figure(html: str, item_id: str, name: str) -> str:
    block = html.split(f'data-item="{item_id}">', 1)[1]  # the row, not the chart's point
    found = re.search(rf'data-figure="{name}">([^<]*)<', block)
    assert found
    return found.group(1)


async def test_the_page_shows_the_figures_text_and_shares(
    staff_server: LiveServer, site: Site
) -> None:
    documents = await _seed(staff_server, site)
    want = statistics(from_documents(documents))
    status, html = await _page(staff_server.base_url, "leader")
    assert status == 200
    assert "试题分析" in html and "Item analysis" in html
    order = _items_in_order(html)
    assert set(order) == set(want["items"])
    flagged = [i for i in order if want["items"][i]["flags"]]
    assert order[: len(flagged)] == flagged and flagged  # flagged items first
    for item_id, figures in want["items"].items():
        assert _figure(html, item_id, "facility") == f"{figures['facility']:.2f}"
        d = figures["discrimination_index"]
        assert _figure(html, item_id, "discrimination_index") == ("—" if d is None else f"{d:.2f}")
    assert 'data-figure="alpha">' + f"{want['test']['alpha']:.3f}" in html
    s00 = html.split('data-item="s00">', 1)[1].split("</tbody>", 1)[0]
    assert "电工第0题：下列哪项正确？" in s00 and "选项A0" in s00
    assert re.search(r'data-label="D">.*?无人选择', s00, re.S)  # a distractor nobody chose
    assert "（题库中无此题" in html.split('data-item="m00">', 1)[1].split("</tbody>", 1)[0]
    drawn = re.findall(r'<circle class="point" data-item="([^"]+)"', html)
    assert sorted(drawn) == sorted(
        i for i, f in want["items"].items() if f["discrimination_index"] is not None
    )
    assert "<script" not in html.split("<svg", 1)[1].split("</svg>", 1)[0]


async def test_columns_sort_with_undefined_figures_last(
    staff_server: LiveServer, site: Site
) -> None:
    documents = await _seed(staff_server, site)
    want = statistics(from_documents(documents))["items"]
    _, html = await _page(staff_server.base_url, "admin", "?sort=facility")
    facilities = [want[i]["facility"] for i in _items_in_order(html)]
    assert facilities == sorted(facilities)
    _, html = await _page(staff_server.base_url, "admin", "?sort=point_biserial&desc=1")
    values = [want[i]["point_biserial"] for i in _items_in_order(html)]
    known = [v for v in values if v is not None]
    assert known == sorted(known, reverse=True) and values[len(known) :] == [None] * (
        len(values) - len(known)
    )
    assert 'aria-sort="descending"' in html
    _, fallback = await _page(staff_server.base_url, "admin", "?sort=%3Cscript%3E")
    _, default = await _page(staff_server.base_url, "admin")
    assert _items_in_order(fallback) == _items_in_order(default)


async def test_an_empty_session_says_so(staff_server: LiveServer) -> None:
    http, _ = await signed_in(staff_server.base_url, "outsider")
    url = f"{staff_server.base_url}/paperwork/sessions/S2/item-analysis"
    async with http, http.get(url) as resp:
        assert resp.status == 200
        assert "暂无已评分的成绩" in await resp.text()


async def test_item_text_waits_for_the_end_of_the_exam(
    staff_server: LiveServer, site: Site
) -> None:
    await _seed(staff_server, site)
    async with staff_server.app[SESSIONMAKER].begin() as db:
        await db.execute(
            update(ExamSession).where(ExamSession.id == site.s1).values(state="started")
        )
    _, html = await _page(staff_server.base_url, "leader")
    assert 'id="content-hidden"' in html
    assert "下列哪项正确" not in html and "选项A0" not in html
    assert 'data-figure="facility"' in html and 'data-label="D"' in html  # figures stay
