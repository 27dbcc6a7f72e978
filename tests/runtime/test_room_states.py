"""The start of a room: every connection's state comes from one read of the room.

`read_room_states` must give each candidate exactly what `candidate_state` gives them
alone (answers, flags, pauses, extra time, results, the paper), with a number of queries
that does not grow with the room; and the candidates must receive their papers at the
start with a clock computed when each message goes out.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.content_crypto import ContentCipher
from cbt_server.db.types import utcnow
from cbt_server.exam.clock import DowntimePolicy
from cbt_server.protocol import candidate as msg
from cbt_server.runtime.candidate.views import candidate_state
from cbt_server.runtime.papers import PaperViews
from cbt_server.runtime.room_states import read_room_states
from cbt_server.settings import Settings
from tests.conftest import LiveServer
from tests.runtime.exam_setup import Exam, open_db
from tests.runtime.wsclient import Client, candidate_login, command, proctor_open

POLICY = DowntimePolicy.NOT_COUNTED


@contextmanager
def counting(session: AsyncSession) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = session.get_bind()

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def without_clock(state: msg.State) -> dict[str, object]:
    return state.model_dump(exclude={"server_time", "remaining_ms", "resume_token"})


async def _started_room(server: LiveServer, exam: Exam) -> tuple[list[Client], Client]:
    clients = []
    for person in exam.people:
        client, _ = await candidate_login(server.ws_url, person.ticket, person.id_number)
        clients.append(client)
    proctor, _ = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    await command(proctor, "start")
    return clients, proctor


async def test_everyone_gets_the_paper_at_the_start(server: LiveServer, exam: Exam) -> None:
    clients, proctor = await _started_room(server, exam)
    try:
        papers = set()
        for client in clients:
            state = await _state_with_paper(client)
            papers.add(state["paper"]["paper_id"])
            assert state["candidate"]["state"] == "answering"
            assert 0 < state["remaining_ms"] <= exam.duration_s * 1000
            assert state["resume_token"]  # each connection's own token, not a shared one
        assert len(papers) == len(exam.people)  # each their own paper
    finally:
        for client in [*clients, proctor]:
            await client.close()


async def _state_with_paper(client: Client) -> dict[str, object]:
    while True:
        state = await client.expect("state")
        if state["paper"] is not None:
            return state


async def test_one_read_equals_each_alone(
    server: LiveServer, exam: Exam, sqlite_settings: Settings
) -> None:
    clients, proctor = await _started_room(server, exam)
    try:
        first = await _state_with_paper(clients[0])
        item = first["paper"]["sections"][0]["items"][0]  # type: ignore[index]
        await clients[0].send(
            {"type": "answer", "seq": 1, "item_id": item["item_id"],
             "response": [item["options"][0]["id"]]}
        )  # fmt: skip
        await clients[0].expect("ack")
        await clients[0].send(
            {"type": "flag", "seq": 2, "item_id": item["item_id"], "flagged": True}
        )
        await clients[0].expect("ack")
        await command(proctor, "pause", candidate_id=exam.people[1].id, reason="机器故障")
        await command(
            proctor, "extra_time", candidate_id=exam.people[2].id, seconds=120, reason="补时"
        )
        await clients[3].send({"type": "submit", "seq": 1})
        await clients[3].expect("ack")
        await clients[3].expect("result")
    finally:
        for client in [*clients, proctor]:
            await client.close()

    cipher = ContentCipher.from_data_dir(sqlite_settings.data_path)
    views = PaperViews(cipher)
    ids = [person.id for person in exam.people]
    async with open_db(sqlite_settings) as db:
        now = (await candidate_state(db, views, ids[0], utcnow(), POLICY)).server_time
        together = await read_room_states(db, views, exam.session_id, ids, now, POLICY)
        assert sorted(together) == sorted(ids)
        for candidate_id in ids:
            alone = await candidate_state(db, views, candidate_id, now, POLICY)
            shared = together[candidate_id].at(now, None)
            assert without_clock(shared) == without_clock(alone)
            assert shared.remaining_ms == alone.remaining_ms
            later = together[candidate_id].at(now + timedelta(seconds=30), "tok")
            assert later.resume_token == "tok"
            if candidate_id in (ids[0], ids[2]):  # running clocks move on
                assert later.remaining_ms == alone.remaining_ms - 30_000
            else:  # paused or submitted: frozen
                assert later.remaining_ms == alone.remaining_ms
        assert together[ids[1]].state.pause_scope == "candidate"
        assert together[ids[0]].state.flags == [item["item_id"]]
        assert together[ids[3]].state.result is not None


async def test_queries_do_not_grow_with_the_room(
    server: LiveServer, exam: Exam, sqlite_settings: Settings
) -> None:
    clients, proctor = await _started_room(server, exam)
    for client in [*clients, proctor]:
        await client.close()
    views = PaperViews(ContentCipher.from_data_dir(sqlite_settings.data_path))
    ids = [person.id for person in exam.people]
    async with open_db(sqlite_settings) as db:
        await read_room_states(db, views, exam.session_id, ids, utcnow(), POLICY)  # warm views
        with counting(db) as few:
            await read_room_states(db, views, exam.session_id, ids[:1], utcnow(), POLICY)
        with counting(db) as many:
            await read_room_states(db, views, exam.session_id, ids, utcnow(), POLICY)
        with counting(db) as alone:
            for candidate_id in ids:
                await candidate_state(db, views, candidate_id, utcnow(), POLICY)
    assert len(few) == len(many) > 0
    assert len(alone) > len(many)
