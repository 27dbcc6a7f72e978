"""A server whose wall clock is stepped ±10 minutes mid-exam (issue 18).

The server's two clocks are injected: `advance` is time passing (wall and monotonic
move together), `step` is an administrator or NTP setting the wall clock (only it
moves). Remaining time as the console receives it moves only by the time that passed;
the deadline sweeper submits nobody early and submits at the true deadline; each step
is in the room record.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from cbt_server.db import models
from cbt_server.db.types import utcnow
from cbt_server.keys import CLOCK_STEPS, RUNTIME, SWEEPER
from cbt_server.paperwork.records import load_room_record
from cbt_server.runtime.clock_steps import ACTION
from cbt_server.runtime.exam_clock import ExamClock, Step
from cbt_server.settings import Settings
from tests.runtime.conftest import ExamServerFactory
from tests.runtime.exam_setup import open_db, prepare_database
from tests.runtime.wsclient import candidate_login, command, proctor_open
from tests.waiting import wait_until

DURATION_S = 300
TEN_MIN = 600.0
ZERO = timedelta(0)


class ServerClocks:
    """The real clocks, plus what the test moved them by."""

    def __init__(self) -> None:
        self.wall_shift = timedelta(0)
        self.mono_shift = 0.0

    def wall(self) -> datetime:
        return utcnow() + self.wall_shift

    def mono(self) -> float:
        return time.monotonic() + self.mono_shift

    def advance(self, seconds: float) -> None:
        self.wall_shift += timedelta(seconds=seconds)
        self.mono_shift += seconds

    def step(self, seconds: float) -> None:
        self.wall_shift += timedelta(seconds=seconds)


async def remaining(
    url: str, cookie: str, session_id: int, candidate_id: int
) -> tuple[int, datetime]:
    """The candidate's remaining_ms as a console opening now sees it, and its server_time."""
    console, room = await proctor_open(url, cookie, session_id)
    await console.close()
    (seat,) = [s for s in room["candidates"] if s["candidate_id"] == candidate_id]
    return seat["remaining_ms"], datetime.fromisoformat(room["server_time"])


async def candidate_row(settings: Settings, candidate_id: int) -> models.Candidate:
    async with open_db(settings) as db:
        row = await db.get(models.Candidate, candidate_id)
        assert row is not None
        return row


async def test_a_stepped_wall_clock_moves_no_remaining_time(
    exam_server_factory: ExamServerFactory, settings: Settings
) -> None:
    exam = await prepare_database(settings, candidates=2, duration_s=DURATION_S)
    server = await exam_server_factory(settings)
    rt, sweeper = server.app[RUNTIME], server.app[SWEEPER]
    clocks = ServerClocks()
    rt.now = ExamClock(clocks.wall, clocks.mono, on_step=server.app[CLOCK_STEPS].seen)
    person = exam.people[0]
    client, _ = await candidate_login(server.ws_url, person.ticket, person.id_number)
    proctor, _ = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    await command(proctor, "start")
    await proctor.close()
    await client.expect("state")
    async with open_db(settings) as db:
        session_row = await db.get(models.ExamSession, exam.session_id)
        assert session_row is not None and session_row.started_at is not None
        deadline = session_row.started_at + timedelta(seconds=DURATION_S)

    async def figures() -> tuple[int, datetime]:
        return await remaining(server.ws_url, exam.proctor_cookie, exam.session_id, person.id)

    left, at = await figures()
    for jump in (TEN_MIN, -2 * TEN_MIN):
        began = time.monotonic()
        clocks.step(jump)
        await sweeper.sweep()  # a +10 min step: the deadline lies 5 min back on the wall
        assert (await candidate_row(settings, person.id)).state == "answering"
        now_left, now_at = await figures()
        passed = time.monotonic() - began
        # What is left fell by the exam time between the two figures, and that is the
        # time that passed, not the step.
        assert abs((left - now_left) - (now_at - at) / timedelta(milliseconds=1)) <= 1
        assert timedelta(0) <= now_at - at <= timedelta(seconds=passed + 0.5)
        assert 0 <= left - now_left <= (passed + 0.5) * 1000
        left, at = now_left, now_at

    # Both steps are in the room record, with the jump seen.
    async def recorded() -> list[models.AuditEntry] | None:
        async with open_db(settings) as db:
            rows = list(
                await db.scalars(
                    select(models.AuditEntry)
                    .where(models.AuditEntry.action == ACTION)
                    .order_by(models.AuditEntry.id)
                )
            )
        return rows if len(rows) == 2 else None

    entries = await wait_until(recorded, "both steps in the audit log", within=10)
    assert [round(e.data["jump_s"]) for e in entries] == [600, -1200]
    assert entries[0].target == f"session:{exam.code}" and "拨快 600" in entries[0].reason
    assert "拨慢 1200" in entries[1].reason
    async with open_db(settings) as db:
        exam_row = await db.get(models.ExamSession, exam.session_id)
        assert exam_row is not None
        record = await load_room_record(db, exam_row)
    steps = [i for i in record.incidents if i.kind == "服务器时钟跳变"]
    assert [s.detail for s in steps] == [
        "时钟跳变 +600.0 秒，计时未受影响",
        "时钟跳变 -1200.0 秒，计时未受影响",
    ]

    # Another worker process that saw the same step finds it recorded.
    first = entries[0]
    same = Step(timedelta(seconds=600.4), utcnow(), first.at + timedelta(seconds=1), ZERO)
    assert await server.app[CLOCK_STEPS].record(same) == []
    assert len(await wait_until(recorded, "still two entries", within=1)) == 2

    # The deadline falls due when the time has really run out, at its exact moment.
    clocks.advance(left / 1000 - 1.5)
    await sweeper.sweep()
    assert (await candidate_row(settings, person.id)).state == "answering"
    clocks.advance(3)
    await sweeper.sweep()
    submitted: dict[str, Any] = await client.expect("submitted", wait=15)
    assert submitted["reason"] == "timeout"
    row = await candidate_row(settings, person.id)
    assert row.submit_reason == "timeout" and row.submitted_at == deadline
    await client.close()
    # The room ended (the other candidate never came: absent); with no session open,
    # exam time is the wall clock again, ready for the next exam.
    clock = rt.now
    assert isinstance(clock, ExamClock)
    # (On a loaded machine the clock may have let go of the offset before this line.)
    offset = clock.offset
    assert offset == ZERO or abs(offset + timedelta(seconds=TEN_MIN)) < timedelta(milliseconds=50)
    await wait_until(lambda: clock.offset == ZERO, "exam time to follow the wall clock", within=20)
    assert abs(clock() - clocks.wall()) < timedelta(seconds=1)
