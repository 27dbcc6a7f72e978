"""Reading a selection of graded results and their items' bank facts for statistics.

Results are read in pages of `PAGE` rows by result id, each page in its own short
transaction (on SQLite a transaction holds the write lock, which the exam's answers wait
for), and parsed off the event loop into the compact arrays; the parsed documents of
one page are dropped before the next page is read.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.exam.practice import PRACTICE
from cbt_server.item_store import load_items
from cbt_server.results.feed import Filters, apply_filters
from cbt_server.stats.arrays import ArrayBuilder, ResultArrays, ResultRow, decode_responses
from cbt_server.stats.compute import BankItem, statistics
from cbt_server.stats.errors import ResultDataError
from item_bank.model import TRUE_FALSE_KEYS, Item

PAGE = 2000


def _parsed(rows: list[Any]) -> list[ResultRow]:
    out = []
    for ident, ticket, score, passed, responses in rows:
        try:
            parsed = decode_responses(responses)
        except ResultDataError as error:
            raise ResultDataError(f"result {ident} (ticket {ticket}): {error}") from None
        out.append(ResultRow(ticket=ticket, score=score, passed=passed, responses=parsed))
    return out


def _add(builder: ArrayBuilder, rows: list[Any]) -> None:
    builder.add(_parsed(rows))


async def load_arrays(
    sessionmaker: async_sessionmaker[AsyncSession], filters: Filters, page: int = PAGE
) -> ResultArrays:
    """The arrays of every graded result the filters select."""
    builder = ArrayBuilder()
    after = 0
    while True:
        stmt = (
            select(
                models.Result.id,
                models.Candidate.ticket,
                models.Result.score,
                models.Result.passed,
                cast(models.Result.responses, Text),
            )
            .select_from(models.Result)
            .join(models.Candidate, models.Candidate.id == models.Result.candidate_id)
            .join(models.ExamSession, models.ExamSession.id == models.Result.session_id)
            .where(models.Result.id > after)
            .order_by(models.Result.id)
            .limit(page)
        )
        if filters.session is None:
            # Across sessions, a practice's results (keys shown, answers locked once
            # checked, anyone with the code) would skew the items' figures; a practice
            # asked for by its code is analysed on its own.
            stmt = stmt.where(models.ExamSession.mode != PRACTICE)
        async with sessionmaker.begin() as session:
            rows = list((await session.execute(apply_filters(stmt, filters))).all())
        if not rows:
            break
        after = rows[-1][0]
        await asyncio.to_thread(_add, builder, rows)
        if len(rows) < page:
            break
    return await asyncio.to_thread(builder.build)


def bank_fact(item: Item) -> BankItem:
    """An item's type and option labels (true/false items: "true" and "false")."""
    if item.type == "true_false":
        return BankItem(item.type, TRUE_FALSE_KEYS)
    return BankItem(item.type, tuple(option.id for option in item.options))


async def load_bank_items(
    session: AsyncSession, cipher: ContentCipher, item_ids: tuple[str, ...]
) -> dict[str, Item]:
    """The bank's items among `item_ids` (an id the bank no longer holds is left out)."""
    present: list[str] = []
    for first in range(0, len(item_ids), 500):
        chunk = list(item_ids[first : first + 500])
        present += await session.scalars(select(models.Item.id).where(models.Item.id.in_(chunk)))
    return await load_items(session, cipher, present) if present else {}


async def selection_statistics(
    sessionmaker: async_sessionmaker[AsyncSession], cipher: ContentCipher, filters: Filters
) -> dict[str, Any]:
    """The whole statistics answer for the results `filters` select (final or not, unless
    `filters.final` says)."""
    answer, _ = await statistics_and_items(sessionmaker, cipher, filters)
    return answer


async def statistics_and_items(
    sessionmaker: async_sessionmaker[AsyncSession], cipher: ContentCipher, filters: Filters
) -> tuple[dict[str, Any], dict[str, Item]]:
    """`selection_statistics` and the bank's items it counted (for their text)."""
    arrays = await load_arrays(sessionmaker, filters)
    async with sessionmaker.begin() as session:
        items = await load_bank_items(session, cipher, arrays.item_ids)
    bank = {item_id: bank_fact(item) for item_id, item in items.items()}
    figures = await asyncio.to_thread(statistics, arrays, bank)
    selection = {
        "session": filters.session,
        "occupation": filters.occupation,
        "level": filters.level,
        "final": filters.final,
        "results": arrays.n,
    }
    return {"selection": selection, **figures}, items
