"""Proctor commands end to end: force-submit, absent, notes, the audit trail, the console."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from cbt_server.db import models
from cbt_server.settings import Settings
from tests.conftest import LiveServer
from tests.runtime.conftest import ExamServerFactory
from tests.runtime.exam_setup import Exam, open_db, prepare_database, settings_for
from tests.runtime.wsclient import (
    candidate_login,
    command,
    forbidden_fields,
    proctor_open,
    seat_until,
)
from tests.waiting import wait_until


async def test_force_submit_absent_note_and_audit(
    server: LiveServer, exam: Exam, sqlite_settings: Settings
) -> None:
    cheat, absent, calm = exam.people[0], exam.people[1], exam.people[2]
    client, _ = await candidate_login(server.ws_url, cheat.ticket, cheat.id_number)
    other, _ = await candidate_login(server.ws_url, calm.ticket, calm.id_number)
    proctor, room = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    seats = {c["candidate_id"]: c for c in room["candidates"]}
    assert seats[cheat.id]["online"] and seats[cheat.id]["state"] == "checked_in"
    assert seats[cheat.id]["total"] == 100 and seats[cheat.id]["answered"] == 0
    assert not seats[absent.id]["online"]

    await command(proctor, "mark_absent", candidate_id=absent.id, reason="未到场")
    await command(proctor, "start")
    state = await client.expect("state")
    await other.expect("state")
    item = state["paper"]["sections"][2]["items"][0]
    await client.send(
        {"type": "answer", "seq": 1, "item_id": item["item_id"], "response": ["true"]}
    )
    await client.expect("ack", seq=1)

    await command(proctor, "force_submit", candidate_id=cheat.id, reason="携带手机")
    submitted = await client.expect("submitted")
    assert submitted["reason"] == "proctor"
    result = await client.expect("result")  # this session shows scores
    assert result["max_total"] == 100 and result["total"] in (0, 1)
    await client.send({"type": "answer", "seq": 2, "item_id": item["item_id"], "response": []})
    assert (await client.expect("error", ref_seq=2))["code"] == "already_submitted"
    await command(proctor, "note", text="09:40 考生携带手机，已收卷")
    await proctor.send({"type": "mark_absent", "seq": 99, "candidate_id": calm.id})
    assert (await proctor.expect("error", ref_seq=99))["code"] == "invalid_transition"

    # The console hears of the graded result.
    seat, _ = await seat_until(proctor, cheat.id, lambda seat: seat["score"] is not None)
    assert seat["state"] == "graded" and seat["submit_reason"] == "proctor"
    assert seat["answered"] == 1

    for frame in client.frames + other.frames:
        assert not forbidden_fields(frame)
    async with open_db(sqlite_settings) as db:
        entries = list(await db.scalars(select(models.AuditEntry).order_by(models.AuditEntry.id)))
        notes = list(await db.scalars(select(models.RoomNote)))
    by_action = {e.action: e for e in entries}
    assert by_action["candidate.force_submit"].reason == "携带手机"
    assert by_action["candidate.force_submit"].actor == f"proctor-{exam.code}"
    assert (
        by_action["candidate.force_submit"].target
        == f"session:{exam.code}/candidate:{cheat.ticket}"
    )
    assert by_action["candidate.absent"].reason == "未到场"
    assert by_action["session.start"].target == f"session:{exam.code}"
    assert [n.text for n in notes] == ["09:40 考生携带手机，已收卷"]
    await client.close()
    await other.close()
    await proctor.close()


async def test_no_scores_for_candidates_when_the_session_hides_them(
    exam_server_factory: ExamServerFactory, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, "hidden")
    exam = await prepare_database(settings, candidates=1, show_scores=False)
    server = await exam_server_factory(settings)
    person = exam.people[0]
    client, _ = await candidate_login(server.ws_url, person.ticket, person.id_number)
    proctor, _ = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    await command(proctor, "start")
    state = await client.expect("state")
    await client.send({"type": "submit", "seq": 1})
    await client.expect("ack", seq=1)
    assert (await client.expect("submitted"))["reason"] == "candidate"

    async def result() -> models.Result | None:
        async with open_db(settings) as db:
            return await db.scalar(
                select(models.Result).where(models.Result.candidate_id == person.id)
            )

    row = await wait_until(result, "the result row", within=5, every=0.1)
    assert row is not None and row.score == 0 and row.passed is False
    await asyncio.sleep(0.3)
    assert all(m["type"] != "result" for m in client.pending())
    await client.close()
    # On reconnect: graded, no paper any more, and still no score.
    again, after = await candidate_login(
        server.ws_url, person.ticket, person.id_number, resume_token=state["resume_token"]
    )
    assert after["candidate"]["state"] == "graded"
    assert after["paper"] is None and after["result"] is None
    assert all('"result"' not in frame or '"result":null' in frame for frame in again.frames)
    await again.close()
    await proctor.close()
