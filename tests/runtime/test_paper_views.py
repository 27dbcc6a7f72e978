"""Paper views share the views of items shown in the same option order: a room's papers
show the same few hundred items, and building each candidate's 100 item views afresh was
most of a check-in. Sharing never serves a view of an item that has since changed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cbt_server.content_crypto import ContentCipher
from cbt_server.db.types import utcnow
from cbt_server.runtime.candidate.changes import paper_index
from cbt_server.runtime.candidate.login import login
from cbt_server.runtime.papers import ItemViews, PaperViews, build_paper_view
from cbt_server.settings import Settings
from item_bank.importers.native import import_native
from item_bank.model import Item, Paper, PaperItem, PaperSection
from tests.runtime.exam_setup import build_exam
from tests.runtime.test_room_states import counting

SAMPLES = Path(__file__).resolve().parents[2] / "item_bank" / "samples"


def _paper(paper_id: str, items: list[Item], reverse: bool) -> Paper:
    entries = tuple(
        PaperItem(item.id, tuple(reversed(ids)) if reverse and n == 0 else ids)
        for n, item in enumerate(items)
        for ids in [tuple(option.id for option in item.options)]
    )
    section = PaperSection(items[0].type, "单选题", 1.0, entries)
    return Paper(paper_id, "bp", "seed", (section,))


def test_item_views_are_shared_between_papers_and_rebuilt_when_an_item_changes() -> None:
    result = import_native(SAMPLES / "electrician-3.yaml")
    chosen = [item for item in result.items if item.type == "single"][:3]
    items = {item.id: item for item in chosen}
    shared: ItemViews = {}
    one = build_paper_view(_paper("p1", chosen, reverse=False), items, shared)
    two = build_paper_view(_paper("p2", chosen, reverse=True), items, shared)
    first, second = one.sections[0].items, two.sections[0].items
    assert [v is w for v, w in zip(first, second, strict=True)] == [False, True, True]
    assert [o.id for o in second[0].options] == [o.id for o in reversed(first[0].options)]
    alone = build_paper_view(_paper("p2", chosen, reverse=True), items)
    assert alone.model_dump() == two.model_dump()  # sharing changes nothing that is sent

    revised = replace(chosen[1], stem=chosen[1].stem + "（修订）")
    items[revised.id] = revised
    three = build_paper_view(_paper("p3", [chosen[0], revised, chosen[2]], False), items, shared)
    assert three.sections[0].items[1].stem == revised.stem  # not the old item's view
    assert three.sections[0].items[2] is first[2]


async def test_a_connection_takes_its_paper_index_from_the_layout_parsed_at_check_in(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """Every connection needs its paper's index for its first answer; a room reconnecting
    read and parsed 2,000 100-item layouts again for it."""
    cipher = ContentCipher.from_data_dir(settings.data_path)
    exam = await build_exam(sessionmaker, cipher, candidates=2, prepare_papers=False)
    drawn, undrawn = exam.people
    async with sessionmaker.begin() as session:
        await login(
            session, cipher, ticket=drawn.ticket, id_number=drawn.id_number,
            resume_token=None, seat=drawn.seat, conn_id="c1", now=utcnow(), events=[],
        )  # fmt: skip
    views = PaperViews(cipher)
    async with sessionmaker() as session:
        expected = await paper_index(session, drawn.id)
        assert len(expected) == 100
        await views.of_candidate(session, drawn.id)  # check-in builds the paper's view
        with counting(session) as statements:
            assert await views.index_of(session, drawn.id) == expected
        assert len(statements) == 1 and "layout" not in statements[0]

        fresh = PaperViews(cipher)  # a process that has parsed nothing yet
        with counting(session) as first:
            assert await fresh.index_of(session, drawn.id) == expected
        with counting(session) as again:
            assert await fresh.index_of(session, drawn.id) == expected
        assert any("layout" in statement for statement in first)
        assert len(again) == 1 and "layout" not in again[0]

        assert await views.index_of(session, undrawn.id) == {}  # no paper yet
