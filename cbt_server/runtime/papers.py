"""Papers: assembled ahead of the start, stored per candidate, shown without keys.

Assembly (item_bank.assembly) runs when a session is prepared (roster import or
`cbt-server roster prepare`), or at the latest when a candidate checks in, so starting a room
only flips states. The candidate's view of a paper is built from the stored layout and the
decrypted items, keeping stems and options only.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.errors import NotFound, PaperUnavailable
from cbt_server.exam.grading import ItemType
from cbt_server.item_store import ItemCache, load_blueprint, load_items, load_pool
from cbt_server.protocol.candidate import ImageView, ItemView, OptionView, PaperView, SectionView
from item_bank.assembly import AssemblyError, assemble, assemble_many
from item_bank.model import Blueprint, FormatError, ImageRef, Item, Paper


async def _blueprint_and_pool(
    session: AsyncSession, cipher: ContentCipher, exam: models.ExamSession
) -> tuple[Blueprint, list[Item]]:
    try:
        blueprint = await load_blueprint(session, exam.blueprint_id)
    except (NotFound, FormatError) as error:
        raise PaperUnavailable(f"session {exam.code}: {error}") from None
    pool = await load_pool(session, cipher, blueprint.occupation, blueprint.level)
    return blueprint, pool


def _paper_row(exam: models.ExamSession, candidate: models.Candidate, paper: Paper) -> models.Paper:
    return models.Paper(
        id=paper.paper_id,
        candidate_id=candidate.id,
        session_id=exam.id,
        blueprint_id=paper.blueprint_id,
        seed=paper.seed,
        layout=paper.to_dict(),
    )


async def ensure_papers(
    session: AsyncSession,
    cipher: ContentCipher,
    exam: models.ExamSession,
    candidates: Sequence[models.Candidate],
) -> int:
    """Assemble and store papers for those `candidates` who have none; returns how many.

    Candidates are keyed by ticket; all papers of one call differ from each other.
    Raises PaperUnavailable naming the reason when the bank cannot supply them.
    """
    if not candidates:
        return 0
    ids = [c.id for c in candidates]
    have = set(
        await session.scalars(
            select(models.Paper.candidate_id).where(models.Paper.candidate_id.in_(ids))
        )
    )
    missing = sorted((c for c in candidates if c.id not in have), key=lambda c: c.ticket)
    if not missing:
        return 0
    blueprint, pool = await _blueprint_and_pool(session, cipher, exam)
    try:
        if len(missing) == 1:
            papers = {missing[0].ticket: assemble(pool, blueprint, exam.seed, missing[0].ticket)}
        else:
            papers = assemble_many(pool, blueprint, exam.seed, [c.ticket for c in missing])
    except AssemblyError as error:
        raise PaperUnavailable(f"session {exam.code}: {error}") from None
    for candidate in missing:
        session.add(_paper_row(exam, candidate, papers[candidate.ticket]))
    await session.flush()
    return len(missing)


async def paper_of(session: AsyncSession, candidate_id: int) -> models.Paper | None:
    return await session.scalar(
        select(models.Paper).where(models.Paper.candidate_id == candidate_id)
    )


def _image(ref: ImageRef | None) -> ImageView | None:
    return None if ref is None else _image_view(ref)


ItemViews = dict[tuple[str, tuple[str, ...]], tuple[Item, ItemView]]
"""(item id, option order) -> (the item it was built from, its view): shared between
papers, since a room's papers show the same items in a few orders each."""


def build_paper_view(
    paper: Paper, items: Mapping[str, Item], shared: ItemViews | None = None
) -> PaperView:
    """The candidate's view: stems and options in the paper's order; no keys, no scores.

    Built with `model_construct` (no validation): every field comes from a stored item
    that was validated when it was imported, and validating 100 items' views again for
    every candidate was the largest single cost of starting a room. With `shared`, an
    item's view in an option order already built for another paper is reused (views are
    never changed once built): building them was most of a candidate's check-in.
    """
    sections = []
    for section in paper.sections:
        section_type = ItemType(section.type)
        views = []
        for entry in section.items:
            item = items[entry.item_id]
            key = (entry.item_id, tuple(entry.option_order))
            known = shared.get(key) if shared is not None else None
            if known is not None and known[0] is item:
                views.append(known[1])
                continue
            view = _item_view(item, entry.option_order)
            if shared is not None:
                shared[key] = (item, view)
            views.append(view)
        sections.append(
            SectionView.model_construct(type=section_type, title=section.title, items=views)
        )
    return PaperView.model_construct(paper_id=paper.paper_id, sections=sections)


def _item_view(item: Item, option_order: Sequence[str]) -> ItemView:
    by_id = {option.id: option for option in item.options}
    return ItemView.model_construct(
        item_id=item.id,
        type=ItemType(item.type),
        stem=item.stem,
        images=[_image_view(i) for i in item.images],
        options=[
            OptionView.model_construct(
                id=option_id,
                text=by_id[option_id].text,
                image=_image(by_id[option_id].image),
            )
            for option_id in option_order
        ],
    )


def _image_view(ref: ImageRef) -> ImageView:
    return ImageView.model_construct(src=ref.src, alt=ref.alt)


class Layouts:
    """Parsed paper layouts of this process by paper id (papers never change once
    stored): check-in parses each candidate's, and grading reuses it instead of reading
    and parsing the layout again while the room submits."""

    def __init__(self, capacity: int = 20_000) -> None:
        self._capacity = capacity
        self._papers: OrderedDict[str, Paper] = OrderedDict()

    def get(self, paper_id: str) -> Paper | None:
        return self._papers.get(paper_id)

    def put(self, paper_id: str, paper: Paper) -> None:
        self._papers[paper_id] = paper
        if len(self._papers) > self._capacity:
            self._papers.popitem(last=False)

    async def load(self, session: AsyncSession, paper_ids: Sequence[str]) -> dict[str, Paper]:
        """These papers by id, reading only the layouts not parsed yet (one query)."""
        found = {pid: paper for pid in paper_ids if (paper := self.get(pid)) is not None}
        missing = [pid for pid in paper_ids if pid not in found]
        if missing:
            rows = await session.execute(
                select(models.Paper.id, models.Paper.layout).where(models.Paper.id.in_(missing))
            )
            for paper_id, layout in rows:
                found[paper_id] = Paper.from_dict(layout)
                self.put(paper_id, found[paper_id])
        return found


ITEM_VIEWS = 100_000
"""Item views kept for sharing between papers (a bank of 500 items in 24 orders each is
12,000)."""


class PaperViews:
    """A small per-process cache of candidate paper views (papers never change)."""

    def __init__(
        self, cipher: ContentCipher, items: ItemCache | None = None, capacity: int = 4096
    ) -> None:
        self._cipher = cipher
        self.items = items if items is not None else ItemCache()
        self._capacity = capacity
        self._views: OrderedDict[str, PaperView] = OrderedDict()
        self._item_views: ItemViews = {}
        self.layouts = Layouts()
        self._indexes: OrderedDict[str, PaperIndex] = OrderedDict()

    async def index_of(self, session: AsyncSession, candidate_id: int) -> PaperIndex:
        """The index of a candidate's paper (empty if they have none yet). Every
        connection needs it for its first answer; the layout parsed at check-in serves,
        so a room reconnecting does not read and parse 100-item layouts again."""
        paper_id = await session.scalar(
            select(models.Paper.id).where(models.Paper.candidate_id == candidate_id)
        )
        if paper_id is None:
            return {}
        index = self._indexes.get(paper_id)
        if index is None:
            paper = (await self.layouts.load(session, [paper_id]))[paper_id]
            index = self._indexes[paper_id] = paper_index(paper)
            if len(self._indexes) > self._capacity:
                self._indexes.popitem(last=False)
        return index

    async def of_candidate(self, session: AsyncSession, candidate_id: int) -> PaperView | None:
        """The view of a candidate's paper (None if they have none), reading the stored
        layout only when this process has not built the view yet."""
        paper_id = await session.scalar(
            select(models.Paper.id).where(models.Paper.candidate_id == candidate_id)
        )
        return None if paper_id is None else await self.by_id(session, paper_id)

    async def by_id(self, session: AsyncSession, paper_id: str) -> PaperView | None:
        view = self._cached(paper_id)
        if view is not None:
            return view
        row = await session.get(models.Paper, paper_id)
        return None if row is None else await self.get(session, row)

    def _cached(self, paper_id: str) -> PaperView | None:
        view = self._views.get(paper_id)
        if view is not None:
            self._views.move_to_end(paper_id)
        return view

    async def get(self, session: AsyncSession, row: models.Paper) -> PaperView:
        view = self._cached(row.id)
        if view is not None:
            return view
        paper = self.layouts.get(row.id)
        if paper is None:
            paper = Paper.from_dict(row.layout)
            self.layouts.put(row.id, paper)
        items = await load_items(session, self._cipher, list(paper.item_ids), self.items)
        if len(self._item_views) > ITEM_VIEWS:  # a new bank or many versions: start over
            self._item_views.clear()
        view = build_paper_view(paper, items, self._item_views)
        self._views[row.id] = view
        if len(self._views) > self._capacity:
            self._views.popitem(last=False)
        return view


PaperIndex = Mapping[str, tuple[ItemType, tuple[str, ...]]]
"""item id -> (type, option ids) of one paper: what checking an answer needs."""


def paper_index(paper: Paper) -> PaperIndex:
    """The index of a parsed paper."""
    return {
        item.item_id: (ItemType(section.type), item.option_order)
        for section in paper.sections
        for item in section.items
    }


def layout_index(layout: Mapping[str, object]) -> PaperIndex:
    """The index of a stored paper layout."""
    return paper_index(Paper.from_dict(cast(Mapping[str, Any], layout)))
