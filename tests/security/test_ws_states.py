"""Answers, flags and submits in the wrong state are refused by name and store nothing:
before the start, while paused (the candidate or the whole room), after submission, and
after time has run out. (The fuzzing tests cover a session that is running.)"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from cbt_server.db import models
from cbt_server.keys import RUNTIME, SESSIONMAKER, SWEEPER
from cbt_server.runtime.papers import layout_index
from tests.clock import SteppedClock
from tests.runtime.wsclient import Client, command
from tests.security.conftest import Site
from tests.security.test_candidate_isolation import a_choice


async def tried(client: Client, seq: int, item: dict[str, Any]) -> list[str]:
    """Send an answer, a flag and a submit; the error codes they got (in that order)."""
    await client.send(
        {"type": "answer", "seq": seq, "item_id": item["item_id"], "response": [a_choice(item)]}
    )
    await client.send({"type": "flag", "seq": seq + 1, "item_id": item["item_id"], "flagged": True})
    await client.send({"type": "submit", "seq": seq + 2})
    codes = []
    for ref in (seq, seq + 1, seq + 2):
        reply = await client.expect("error", ref_seq=ref)
        codes.append(reply["code"])
    return codes


async def _an_item_of(site: Site, candidate_id: int) -> dict[str, Any]:
    """An item of the candidate's stored paper, as the candidate would name it."""
    async with site.app[SESSIONMAKER]() as db:
        paper = await db.scalar(
            select(models.Paper).where(models.Paper.candidate_id == candidate_id)
        )
    assert paper is not None
    item_id, (kind, options) = next(iter(layout_index(paper.layout).items()))
    return {"item_id": item_id, "type": kind.value, "options": [{"id": o} for o in options]}


async def test_wrong_states_refuse_answers_flags_and_submits(site: Site) -> None:
    me, other = site.s1.people[30], site.s1.people[31]
    client, _ = await site.quiet_login(me)
    item = await _an_item_of(site, me.id)
    # Before the start (checked in, no paper shown yet).
    assert await tried(client, 1, item) == ["not_started", "not_started", "invalid_transition"]

    proctor = await site.proctor(site.s1)
    await command(proctor, "start")
    await client.expect("state")
    neighbour, _ = await site.quiet_login(other)
    # The candidate paused.
    await command(proctor, "pause", candidate_id=me.id, reason="检查身份证")
    await client.expect("paused")
    assert await tried(client, 4, item) == ["paused", "paused", "paused"]
    await command(proctor, "resume", candidate_id=me.id, reason="核对完毕")
    await client.expect("resumed")
    # The whole room paused.
    await command(proctor, "pause", reason="停电")
    await client.expect("paused")
    assert await tried(client, 7, item) == ["paused", "paused", "paused"]
    await command(proctor, "resume", reason="来电")
    await client.expect("resumed")
    # Submitted: nothing more.
    await client.send({"type": "submit", "seq": 10})
    await client.expect("ack", seq=10)
    assert await tried(client, 11, item) == [
        "already_submitted",
        "already_submitted",
        "already_submitted",
    ]
    assert await site.answers(me.id) == {}
    row = await site.candidate(me.id)
    assert row.acked_seq == 10 and row.submit_reason == "candidate"
    for c in (client, neighbour, proctor):
        await c.close()


async def test_time_up_refuses_answers_flags_and_submits(site: Site) -> None:
    exam = site.s2
    async with site.app[SESSIONMAKER].begin() as db:
        await db.execute(
            update(models.ExamSession)
            .where(models.ExamSession.id == exam.session_id)
            .values(duration_s=2)
        )
    me = exam.people[0]
    clock = site.app[RUNTIME].now = SteppedClock()
    client, _ = await site.quiet_login(me)
    await site.start(exam)
    state = await client.expect("state")
    item = state["paper"]["sections"][0]["items"][0]
    clock.advance(2.5)  # past the 2 s, at once; the sweeper wakes at its own time
    codes = await tried(client, 1, item)
    # Refused as late, or as already submitted if the server's own deadline sweep came
    # first; never stored.
    assert set(codes) <= {"time_up", "already_submitted"}, codes
    site.app[SWEEPER].wake()  # rather than at the deadline it read on the real clock
    await client.expect("submitted", wait=15)
    assert await site.answers(me.id) == {}
    row = await site.candidate(me.id)
    assert row.submit_reason == "timeout"
    await client.close()
