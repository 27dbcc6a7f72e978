"""The one promise every fault test checks: nothing acknowledged is lost.

An acknowledged answer (seq S for item I) is kept if the database's row for I holds S or
a later answer to I that this candidate really sent (a later one may have been committed
just before the fault, its ack lost with the link). Anything else is a loss.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from cbt_server.db import models
from cbt_server.settings import Settings
from tests.runtime.exam_setup import open_db

Message = Mapping[str, Any]


@dataclass(frozen=True)
class Stored:
    seq: int
    response: list[str]


def latest_acked(acked: Mapping[int, Message]) -> dict[str, int]:
    """item id -> the highest acknowledged seq of an answer to it."""
    latest: dict[str, int] = {}
    for seq, message in acked.items():
        if message["type"] == "answer":
            item = str(message["item_id"])
            latest[item] = max(seq, latest.get(item, 0))
    return latest


def losses_in_rows(
    who: str,
    acked: Mapping[int, Message],
    sent: Mapping[int, Message],
    rows: Mapping[str, Stored],
) -> list[str]:
    """Each acknowledged answer missing from (or overwritten wrongly in) stored rows."""
    problems = []
    for item, seq in sorted(latest_acked(acked).items()):
        row = rows.get(item)
        if row is None:
            problems.append(f"{who}: item {item} acked at seq {seq} is not stored")
            continue
        if row.seq < seq:
            problems.append(f"{who}: item {item} acked at seq {seq}, stored is older {row.seq}")
            continue
        origin = sent.get(row.seq)
        if origin is None or origin.get("item_id") != item:
            problems.append(f"{who}: item {item} stored under seq {row.seq} that was never sent")
        elif sorted(origin["response"]) != sorted(row.response):
            problems.append(
                f"{who}: item {item} stored {row.response} differs from seq {row.seq} "
                f"as sent {origin['response']}"
            )
    return problems


def losses_in_state(
    who: str, acked: Mapping[int, Message], sent: Mapping[int, Message], answers: Mapping[str, Any]
) -> list[str]:
    """The same check against a `state` message (answers without their seq)."""
    problems = []
    for item, seq in sorted(latest_acked(acked).items()):
        shown = answers.get(item)
        allowed = [
            sorted(m["response"])
            for s, m in sent.items()
            if s >= seq and m["type"] == "answer" and m["item_id"] == item
        ]
        if shown is None or sorted(shown) not in allowed:
            problems.append(f"{who}: item {item} acked at seq {seq}, state shows {shown}")
    return problems


async def stored_answers(
    settings: Settings, candidate_ids: Iterable[int]
) -> dict[int, dict[str, Stored]]:
    """candidate id -> item id -> stored answer, read straight from the database."""
    ids = list(candidate_ids)
    found: dict[int, dict[str, Stored]] = {cid: {} for cid in ids}
    async with open_db(settings) as db:
        rows = await db.scalars(select(models.Answer).where(models.Answer.candidate_id.in_(ids)))
        for row in rows:
            if row.response:
                found[row.candidate_id][row.item_id] = Stored(row.seq, list(row.response))
    return found
