"""Fault: the server is killed (SIGKILL) in the middle of a 30-candidate exam, restarted.

Thirty simulated pages answer as fast as candidates click while the server process is
killed with SIGKILL, stays down for a few seconds and is started again on the same
database. Checked: every answer a page had acknowledged is in the first state it gets
after the restart and in the database; the pages reconnect by themselves and, once they
have resent what they held, the database holds exactly what each candidate chose; the
downtime is given back (default policy) or counted (`CBT_DOWNTIME_POLICY=counted`); the
exam then finishes and is graded.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from cbt_server.db import models
from tests.faults.checks import losses_in_rows, losses_in_state, stored_answers
from tests.faults.conftest import Room, RoomFactory, keep_answering, open_room
from tests.faults.page import PageCandidate
from tests.runtime.exam_setup import open_db
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

log = logging.getLogger(__name__)

ACKED_BEFORE_KILL = 150
DOWN_FOR_S = 6.0
"""Long enough that counting the downtime or not differs far beyond the tolerances."""


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def run_answering(room: Room, stop: asyncio.Event) -> list[asyncio.Task[None]]:
    return [
        asyncio.create_task(keep_answering(page, stop, seed=index))
        for index, page in enumerate(room.pages)
    ]


def first_state_after(page: PageCandidate, moment: float) -> dict[str, Any]:
    for snapshot in page.snapshots:
        if snapshot.at > moment:
            return snapshot.state
    raise AssertionError(f"{page.name}: no state after the restart")


async def kill_mid_exam(room: Room) -> dict[str, Any]:
    """Answer, SIGKILL, stay down, restart, answer on; returns what the test measured."""
    await open_room(room)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    tasks = await run_answering(room, stop)
    # Kill once plenty is acknowledged (however fast this machine is today), at a moment
    # when answers are in flight.
    acked = lambda: sum(len(p.ledger.acked) for p in room.pages)  # noqa: E731
    await room.pages[0].until(lambda: acked() >= ACKED_BEFORE_KILL, 60, "answers acked")
    await room.pages[0].until(lambda: any(p.outbox for p in room.pages), 10, "in flight")
    before = {p.name: p.last_snapshot() for p in room.pages}
    killed_wall = datetime.now(UTC)
    await room.server.kill()
    killed_at = loop.time()
    acked_at_kill = {p.name: copy.deepcopy(p.ledger.acked) for p in room.pages}
    in_flight = sum(len(p.outbox) for p in room.pages)
    await asyncio.sleep(DOWN_FOR_S)  # the candidates keep answering; the pages queue
    restart_wall = datetime.now(UTC)
    await room.server.start()
    ready_wall = datetime.now(UTC)
    restarted_at = loop.time()
    await asyncio.gather(*(p.until_logins(2, limit_s=60) for p in room.pages))
    all_back_s = loop.time() - restarted_at
    await asyncio.sleep(2)
    stop.set()
    await asyncio.gather(*tasks)
    await asyncio.gather(*(p.until_all_acked(limit_s=60) for p in room.pages))
    return {
        "before": before,
        "killed_wall": killed_wall,
        "killed_at": killed_at,
        "restart_wall": restart_wall,
        "ready_wall": ready_wall,
        "restarted_at": restarted_at,
        "acked_at_kill": acked_at_kill,
        "in_flight": in_flight,
        "all_back_s": all_back_s,
    }


async def check_nothing_lost(room: Room, seen: dict[str, Any]) -> None:
    problems: list[str] = []
    acked_total = 0
    for page in room.pages:
        acked = seen["acked_at_kill"][page.name]
        acked_total += len(acked)
        after = first_state_after(page, seen["restarted_at"])
        problems += losses_in_state(page.name, acked, page.ledger.sent, after["answers"])
    assert acked_total >= ACKED_BEFORE_KILL, f"only {acked_total} acked before the kill"
    assert seen["in_flight"] > 0, "no answer was in flight at the kill"

    ids = {p.name: person.id for p, person in zip(room.pages, room.exam.people, strict=True)}
    stored = await stored_answers(room.settings, ids.values())
    for page in room.pages:
        rows = stored[ids[page.name]]
        problems += losses_in_rows(page.name, page.ledger.acked, page.ledger.sent, rows)
        final = {item: sorted(row.response) for item, row in rows.items()}
        wanted = {item: sorted(response) for item, response in page.intended().items()}
        if final != wanted:
            problems.append(f"{page.name}: stored answers differ from the candidate's choices")
    assert not problems, "\n".join(problems[:20])


def clock_figures(page: PageCandidate, seen: dict[str, Any]) -> tuple[float, float]:
    """(time used up, wall time passed) in seconds, between the last state before the
    kill and the first after the restart, as the server reported them to the page."""
    before = seen["before"][page.name].state
    after = first_state_after(page, seen["restarted_at"])
    used = (before["remaining_ms"] - after["remaining_ms"]) / 1000
    wall = (parse_time(after["server_time"]) - parse_time(before["server_time"])).total_seconds()
    return used, wall


async def stored_downtime(room: Room) -> models.Downtime:
    async with open_db(room.settings) as db:
        rows = list(await db.scalars(select(models.Downtime)))
    assert len(rows) == 1, f"expected one downtime, found {len(rows)}"
    return rows[0]


async def finish_exam(room: Room) -> None:
    for page in room.pages:
        page.submit()
    await asyncio.gather(*(p.until(lambda p=p: p.submitted, 60, "submitted") for p in room.pages))

    async def all_graded() -> bool:
        # A short transaction each time: on SQLite a reader here begins IMMEDIATE and
        # would hold the server's writers off for as long as it stays open.
        async with open_db(room.settings) as db:
            graded = await db.scalar(select(func.count()).select_from(models.Result)) or 0
        return graded == len(room.pages)

    await wait_until(all_graded, f"all {len(room.pages)} graded", within=120, every=0.2)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_sigkill_mid_exam_loses_nothing_and_gives_the_downtime_back(
    room_factory: RoomFactory, backend: str
) -> None:
    room = await room_factory(backend)
    seen = await kill_mid_exam(room)
    await check_nothing_lost(room, seen)

    assert all(p.logins >= 2 for p in room.pages)  # each reconnected on its own
    assert all(p.refused_login is None for p in room.pages)

    downtime = await stored_downtime(room)
    # From the last heartbeat before the kill (beats are due every BEAT_SECONDS; a busy
    # server may be late) to the moment the restarted server's runtime began.
    assert seen["killed_wall"] - timedelta(seconds=10) <= downtime.started_at
    assert downtime.started_at <= seen["killed_wall"]
    assert seen["restart_wall"] <= downtime.ended_at <= seen["ready_wall"]
    given_back = (downtime.ended_at - downtime.started_at).total_seconds()
    assert given_back >= DOWN_FOR_S
    log.info(
        "SIGKILL (%s): %d acked and %d unacked at the kill; restart took %.2f s; all %d "
        "pages back %.2f s after it; downtime given back %.2f s (last beat %.2f s before "
        "the kill)",
        backend,
        sum(len(a) for a in seen["acked_at_kill"].values()),
        seen["in_flight"],
        (seen["ready_wall"] - seen["restart_wall"]).total_seconds(),
        len(room.pages),
        seen["all_back_s"],
        given_back,
        (seen["killed_wall"] - downtime.started_at).total_seconds(),
    )

    for page in room.pages:
        used, wall = clock_figures(page, seen)
        # The candidate lost exactly the time the server was up, to the millisecond.
        assert abs(used - (wall - given_back)) <= 0.002, f"{page.name}: {used=} {wall=}"
    await finish_exam(room)


async def test_sigkill_with_downtime_counted(room_factory: RoomFactory) -> None:
    room = await room_factory("sqlite", env={"CBT_DOWNTIME_POLICY": "counted"})
    seen = await kill_mid_exam(room)
    await check_nothing_lost(room, seen)
    downtime = await stored_downtime(room)  # recorded all the same, only not given back
    assert (downtime.ended_at - downtime.started_at).total_seconds() >= DOWN_FOR_S
    for page in room.pages:
        used, wall = clock_figures(page, seen)
        assert abs(used - wall) <= 0.002, f"{page.name}: {used=} {wall=}"
