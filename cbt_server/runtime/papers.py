"""Papers: assembled ahead of the start, stored per candidate, shown without keys.

Assembly (item_bank.assembly) runs when a session is prepared (roster import or
`cbt roster prepare`), or at the latest when a candidate checks in, so starting a room
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
from cbt_server.item_store import load_blueprint, load_items, load_pool
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
    return None if ref is None else ImageView(src=ref.src, alt=ref.alt)


def build_paper_view(paper: Paper, items: Mapping[str, Item]) -> PaperView:
    """The candidate's view: stems and options in the paper's order; no keys, no scores."""
    sections = []
    for section in paper.sections:
        views = []
        for entry in section.items:
            item = items[entry.item_id]
            by_id = {option.id: option for option in item.options}
            views.append(
                ItemView(
                    item_id=item.id,
                    type=ItemType(item.type),
                    stem=item.stem,
                    images=[ImageView(src=i.src, alt=i.alt) for i in item.images],
                    options=[
                        OptionView(
                            id=option_id,
                            text=by_id[option_id].text,
                            image=_image(by_id[option_id].image),
                        )
                        for option_id in entry.option_order
                    ],
                )
            )
        sections.append(SectionView(type=ItemType(section.type), title=section.title, items=views))
    return PaperView(paper_id=paper.paper_id, sections=sections)


class PaperViews:
    """A small per-process cache of candidate paper views (papers never change)."""

    def __init__(self, cipher: ContentCipher, capacity: int = 2048) -> None:
        self._cipher = cipher
        self._capacity = capacity
        self._views: OrderedDict[str, PaperView] = OrderedDict()

    async def get(self, session: AsyncSession, row: models.Paper) -> PaperView:
        view = self._views.get(row.id)
        if view is not None:
            self._views.move_to_end(row.id)
            return view
        paper = Paper.from_dict(row.layout)
        items = await load_items(session, self._cipher, list(paper.item_ids))
        view = build_paper_view(paper, items)
        self._views[row.id] = view
        if len(self._views) > self._capacity:
            self._views.popitem(last=False)
        return view


def layout_index(layout: Mapping[str, object]) -> dict[str, tuple[ItemType, tuple[str, ...]]]:
    """item id -> (type, option ids) for a stored paper layout: what answer checks need."""
    paper = Paper.from_dict(cast(Mapping[str, Any], layout))
    return {
        item.item_id: (ItemType(section.type), item.option_order)
        for section in paper.sections
        for item in section.items
    }
