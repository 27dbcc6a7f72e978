"""Pause, resume and extra time over the wire, with exact time accounting.

Every figure a client receives is checked to the millisecond against the stored facts
(session start, pause intervals, grants) and the `server_time` of the message.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from cbt_server.db import models
from cbt_server.keys import RUNTIME
from cbt_server.settings import Settings
from tests.clock import SteppedClock
from tests.conftest import LiveServer
from tests.runtime.exam_setup import Exam, open_db
from tests.runtime.wsclient import candidate_login, command, proctor_open, seat_until

MS = timedelta(milliseconds=1)


def at(message: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(message["server_time"])


def union(intervals: list[tuple[datetime, datetime]]) -> timedelta:
    total, end = timedelta(0), None
    for a, b in sorted(intervals):
        if end is None or a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total


async def facts(settings: Settings, exam: Exam) -> tuple[datetime, list[models.Pause]]:
    async with open_db(settings) as db:
        row = await db.get(models.ExamSession, exam.session_id)
        assert row is not None and row.started_at is not None
        pauses = list(await db.scalars(select(models.Pause).order_by(models.Pause.id)))
    return row.started_at, pauses


async def test_pause_resume_and_extra_time_exact(
    server: LiveServer, exam: Exam, sqlite_settings: Settings
) -> None:
    person = exam.people[0]
    duration = timedelta(seconds=exam.duration_s)
    clock = server.app[RUNTIME].now = SteppedClock()  # time passes when the test says
    client, _ = await candidate_login(server.ws_url, person.ticket, person.id_number)
    proctor, _ = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    await command(proctor, "start")
    state = await client.expect("state")
    start, _ = await facts(sqlite_settings, exam)
    assert state["remaining_ms"] == (duration - (at(state) - start)) // MS
    item = state["paper"]["sections"][0]["items"][0]
    answer = {"type": "answer", "item_id": item["item_id"], "response": [item["options"][0]["id"]]}

    await command(proctor, "pause", candidate_id=person.id, reason="机器故障")
    paused = await client.expect("paused")
    assert (paused["scope"], paused["reason"]) == ("candidate", "机器故障")
    _, pauses = await facts(sqlite_settings, exam)
    frozen = (duration - (pauses[0].started_at - start)) // MS
    assert paused["remaining_ms"] == frozen

    # Answering and submitting are refused while paused; the connection stays.
    await client.send({**answer, "seq": 1})
    assert (await client.expect("error", ref_seq=1))["code"] == "paused"
    await client.send({"type": "submit", "seq": 2})
    assert (await client.expect("error", ref_seq=2))["code"] == "paused"

    clock.advance(0.3)
    await command(proctor, "pause", reason="全场停电")  # the room, overlapping
    room_paused = await client.expect("paused", scope="room")
    assert room_paused["remaining_ms"] == frozen
    clock.advance(0.3)
    await command(proctor, "resume", candidate_id=person.id)
    still = await client.expect("paused", scope="room")  # the room pause still holds
    assert still["remaining_ms"] == frozen
    clock.advance(0.3)
    await command(proctor, "resume")
    resumed = await client.expect("resumed")

    _, pauses = await facts(sqlite_settings, exam)
    assert len(pauses) == 2 and all(p.ended_at is not None for p in pauses)
    excluded = union([(p.started_at, p.ended_at) for p in pauses if p.ended_at])
    assert excluded >= timedelta(seconds=0.9)
    assert resumed["remaining_ms"] == (duration - (at(resumed) - start - excluded)) // MS
    # Time did not run while paused: what is left now is what was left at the pause,
    # less only the running time since the resume.
    last_resume = max(p.ended_at for p in pauses if p.ended_at)
    assert (
        resumed["remaining_ms"]
        == (duration - (pauses[0].started_at - start) - (at(resumed) - last_resume)) // MS
    )

    await client.send({**answer, "seq": 3})
    await client.expect("ack", seq=3)
    # The submit refused while paused, resent now that it lies below the mark, is not
    # acknowledged: it was never applied, and an ack would say the paper is in.
    await client.send({"type": "submit", "seq": 2})
    assert (await client.expect("error", ref_seq=2))["code"] == "stale_seq"

    await command(proctor, "extra_time", candidate_id=person.id, seconds=120, reason="换机")
    more = await client.expect("time")
    assert more["extra_ms"] == 120_000 and more["reason"] == "换机"
    assert (
        more["remaining_ms"]
        == (duration + timedelta(seconds=120) - (at(more) - start - excluded)) // MS
    )

    # The console shows the same figures.
    seat, update = await seat_until(proctor, person.id, lambda seat: seat["extra_ms"] == 120_000)
    assert seat["paused"] is False and seat["online"] is True
    assert (
        seat["remaining_ms"]
        == (duration + timedelta(seconds=120) - (at(update) - start - excluded)) // MS
    )
    await client.close()
    await proctor.close()


async def test_pause_commands_that_make_no_sense_are_refused(
    server: LiveServer, exam: Exam
) -> None:
    proctor, _ = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    person = exam.people[1]
    await proctor.send({"type": "pause", "seq": 1, "reason": "太早"})
    assert (await proctor.expect("error", ref_seq=1))["code"] == "invalid_transition"
    await command(proctor, "start")
    await proctor.send({"type": "pause", "seq": 2, "candidate_id": person.id, "reason": "x"})
    # Never logged in: registered, not answering.
    assert (await proctor.expect("error", ref_seq=2))["code"] == "invalid_transition"
    await proctor.send({"type": "resume", "seq": 3})
    assert (await proctor.expect("error", ref_seq=3))["code"] == "invalid_transition"
    await proctor.send(
        {"type": "extra_time", "seq": 4, "candidate_id": 99999, "seconds": 60, "reason": "x"}
    )
    assert (await proctor.expect("error", ref_seq=4))["code"] == "not_found"
    await proctor.close()
