"""Fault: a candidate's link is cut, or their PC dies and they move to another seat.

The candidate's page reaches the server through a relay standing for the PC's link:
cut, nothing crosses and neither end is told; the PC powered off, its connection is
gone without a word and its local storage with it.

"Time accounted correctly" means: the clock is the server's and keeps running while a
candidate is offline, since they may go on reading (and answering) the paper; only a
proctor's pause stops it. A candidate who moves seats is paused by the proctor for the
move if the proctor chooses; then exactly the paused time is not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from cbt_server.db import models
from tests.faults.checks import losses_in_rows, losses_in_state, stored_answers
from tests.faults.conftest import LinkFactory, Room, RoomFactory, open_room
from tests.faults.page import PageCandidate, pick
from tests.runtime.exam_setup import open_db
from tests.runtime.wsclient import Client, proctor_open
from tests.waiting import wait_until

SPARE_SEAT = 31


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def used_and_wall(before: dict[str, Any], after: dict[str, Any]) -> tuple[float, float]:
    """Seconds of the candidate's time used up, and wall seconds passed, between two
    messages that carry the server's `remaining_ms` and `server_time`."""
    used = (before["remaining_ms"] - after["remaining_ms"]) / 1000
    wall = (parse_time(after["server_time"]) - parse_time(before["server_time"])).total_seconds()
    return used, wall


async def answer_and_wait(page: PageCandidate, start: int, count: int) -> None:
    for n in range(start, start + count):
        item = page.paper[n]
        page.answer(item["item_id"], pick(item, n))
    await page.until_all_acked(limit_s=30)


class ConsoleWatch:
    """A proctor console kept open, recording what it hears of one candidate."""

    def __init__(self, client: Client, candidate_id: int) -> None:
        self.client = client
        self.candidate_id = candidate_id
        self.online: list[bool] = []
        self.task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        with contextlib.suppress(Exception):
            while True:
                message = await self.client.recv(wait=3600)
                seat = message.get("candidate") if message.get("type") == "seat" else None
                if seat and seat["candidate_id"] == self.candidate_id:
                    self.online.append(bool(seat["online"]))

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.client.close()


async def cut_link_for(room: Room, link_factory: LinkFactory, seconds: float) -> None:
    link = await link_factory(room.server.port)
    await open_room(room, count=3, ws_urls={0: link.ws_url})
    page = room.pages[0]
    await answer_and_wait(page, 0, 10)
    before = page.last_snapshot().state
    logins = page.logins
    connects = page.connects

    link.cut()
    for n in range(10, 20):  # the candidate keeps answering; nothing gets through
        item = page.paper[n]
        page.answer(item["item_id"], pick(item, n))
        await asyncio.sleep(seconds / 20)
    await asyncio.sleep(seconds / 2)
    assert len(page.ledger.acked) == 10, "an answer was acknowledged over a cut link"
    link.restore()
    restored_at = asyncio.get_running_loop().time()

    await page.until_logins(logins + 1, limit_s=60)  # back by itself, same PC's token
    after = next(s.state for s in page.snapshots if s.at > restored_at)
    assert after["resume_token"] == before["resume_token"]
    assert losses_in_state(page.name, page.ledger.acked, page.ledger.sent, after["answers"]) == []
    await page.until_all_acked(limit_s=30)
    assert page.connects > connects

    stored = await stored_answers(room.settings, [room.exam.people[0].id])
    rows = stored[room.exam.people[0].id]
    assert losses_in_rows(page.name, page.ledger.acked, page.ledger.sent, rows) == []
    assert {i: sorted(r.response) for i, r in rows.items()} == {
        i: sorted(r) for i, r in page.intended().items()
    }
    # The clock ran on while the candidate was offline: no pause, no downtime.
    used, wall = used_and_wall(before, after)
    assert wall >= seconds
    assert abs(used - wall) <= 0.002, f"{used=} {wall=}"


async def test_link_cut_for_12_seconds(
    room_factory: RoomFactory, link_factory: LinkFactory
) -> None:
    """Long enough for the page's pings to give up (it reconnects and takes over from
    the connection the server still holds), shorter than the server's heartbeat."""
    room = await room_factory("sqlite", candidates=3)
    await cut_link_for(room, link_factory, 12)


@pytest.mark.slow
async def test_link_cut_for_60_seconds(
    room_factory: RoomFactory, link_factory: LinkFactory
) -> None:
    """Both ends give up on the connection; the proctor's console shows the candidate
    offline, then online again when the page is back."""
    room = await room_factory("sqlite", candidates=3)
    link = await link_factory(room.server.port)
    await open_room(room, count=3, ws_urls={0: link.ws_url})
    page = room.pages[0]
    console, _ = await proctor_open(
        room.server.ws_url, room.exam.proctor_cookie, room.exam.session_id
    )
    watch = ConsoleWatch(console, room.exam.people[0].id)
    await answer_and_wait(page, 0, 10)
    before = page.last_snapshot().state
    logins = page.logins

    link.cut()
    for n in range(10, 20):
        item = page.paper[n]
        page.answer(item["item_id"], pick(item, n))
        await asyncio.sleep(3)
    await asyncio.sleep(30)
    assert False in watch.online, "the console never showed the candidate offline"
    assert len(page.ledger.acked) == 10
    link.restore()
    restored_at = asyncio.get_running_loop().time()

    await page.until_logins(logins + 1, limit_s=60)
    after = next(s.state for s in page.snapshots if s.at > restored_at)
    await page.until_all_acked(limit_s=30)
    await wait_until(
        lambda: watch.online[-1] is True, "the console to show the candidate back", within=10
    )

    rows = (await stored_answers(room.settings, [room.exam.people[0].id]))[room.exam.people[0].id]
    assert losses_in_rows(page.name, page.ledger.acked, page.ledger.sent, rows) == []
    assert {i: sorted(r.response) for i, r in rows.items()} == {
        i: sorted(r) for i, r in page.intended().items()
    }
    used, wall = used_and_wall(before, after)
    assert wall >= 60
    assert abs(used - wall) <= 0.002, f"{used=} {wall=}"
    await watch.close()


@pytest.mark.parametrize("paused_for_the_move", [False, True], ids=["running", "paused"])
async def test_pc_dies_and_the_candidate_moves_seat(
    room_factory: RoomFactory, link_factory: LinkFactory, paused_for_the_move: bool
) -> None:
    room = await room_factory("sqlite", candidates=3)
    link = await link_factory(room.server.port)
    await open_room(room, count=3, ws_urls={0: link.ws_url})
    person = room.exam.people[0]
    old_pc = room.pages[0]
    await answer_and_wait(old_pc, 0, 12)
    before = old_pc.last_snapshot().state

    link.cut()  # the PC hangs, then dies with answers still on their way
    for n in range(12, 15):
        item = old_pc.paper[n]
        old_pc.answer(item["item_id"], pick(item, n))
    await asyncio.sleep(0.5)
    await link.drop_all()
    await old_pc.power_off()
    assert len(old_pc.outbox) == 3  # lost with the PC; never acknowledged

    # The candidate sits down at the spare PC: refused until a proctor unlocks them.
    spare = room.page_for(0, seat=SPARE_SEAT)
    spare.start()
    await spare.until(lambda: spare.refused_login is not None, 30, "the refusal")
    assert spare.refused_login is not None
    assert spare.refused_login["code"] == "already_logged_in"
    await spare.stop()
    if paused_for_the_move:
        await room.proctor("pause", candidate_id=person.id, reason="3 号机故障 PC failure")
    await room.proctor("unlock", candidate_id=person.id, reason="3 号机故障，换到 31 号机")

    again = room.page_for(0, seat=SPARE_SEAT)
    again.start()
    await again.until_paper(limit_s=30)
    first = again.snapshots[0].state
    assert first["acked_seq"] >= max(old_pc.ledger.acked)
    assert (
        losses_in_state("old PC", old_pc.ledger.acked, old_pc.ledger.sent, first["answers"]) == []
    )
    if paused_for_the_move:
        assert first["paused"] is True
        await room.proctor("resume", candidate_id=person.id)
        await again.until(lambda: not again.paused, 15, "resumed")

    # The three answers lost with the old PC are chosen again, and the exam goes on.
    await answer_and_wait(again, 12, 8)

    rows = (await stored_answers(room.settings, [person.id]))[person.id]
    sent = {**old_pc.ledger.sent, **again.ledger.sent}
    acked = {**old_pc.ledger.acked, **again.ledger.acked}
    assert losses_in_rows("candidate", acked, sent, rows) == []
    expected = {i: sorted(r) for i, r in first["answers"].items()}
    expected.update({i: sorted(r) for i, r in again.intended().items()})
    assert {i: sorted(r.response) for i, r in rows.items()} == expected

    async with open_db(room.settings) as db:
        candidate = await db.get(models.Candidate, person.id)
        pauses = list(await db.scalars(select(models.Pause)))
    assert candidate is not None and candidate.login_seat == SPARE_SEAT
    # Time: running throughout, except the proctor's pause when there was one.
    later = again.clock_reports[-1]
    used, wall = used_and_wall(before, later)
    paused_s = sum(((p.ended_at or p.started_at) - p.started_at).total_seconds() for p in pauses)
    assert (paused_s > 0) is paused_for_the_move
    assert abs(used - (wall - paused_s)) <= 0.002, f"{used=} {wall=} {paused_s=}"
