"""Group commit across connections: many candidates' answers, one transaction, each
acknowledged only after it; a failure of one connection's answers stays theirs; a room
submitting together is submitted and graded in shared transactions."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from sqlalchemy import select

from cbt_server.db import models
from cbt_server.errors import Paused
from cbt_server.keys import RUNTIME
from cbt_server.protocol import SUBPROTOCOL
from cbt_server.runtime.candidate import changes
from cbt_server.runtime.context import Work
from cbt_server.runtime.events import Event, Kind
from cbt_server.runtime.group_commit import GroupCommit
from cbt_server.settings import Settings
from tests.conftest import LiveServer
from tests.runtime.exam_setup import Exam, open_db
from tests.runtime.wsclient import Client, candidate_login, command, proctor_open
from tests.waiting import wait_until


async def _room(
    server: LiveServer, exam: Exam
) -> tuple[list[Client], list[dict[str, Any]], Client]:
    clients, papers = [], []
    for person in exam.people:
        client, _ = await candidate_login(server.ws_url, person.ticket, person.id_number)
        clients.append(client)
    proctor, _ = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    await command(proctor, "start")
    for client in clients:
        while True:
            state = await client.expect("state")
            if state["paper"] is not None:
                papers.append(state["paper"])
                break
    return clients, papers, proctor


def _answers(paper: dict[str, Any], count: int) -> list[dict[str, Any]]:
    items = [item for section in paper["sections"] for item in section["items"]][:count]
    return [
        {"type": "answer", "seq": seq, "item_id": item["item_id"],
         "response": [item["options"][0]["id"]]}
        for seq, item in enumerate(items, start=1)
    ]  # fmt: skip


async def _stored(settings: Settings) -> dict[int, set[str]]:
    async with open_db(settings) as db:
        rows = await db.execute(select(models.Answer.candidate_id, models.Answer.item_id))
        stored: dict[int, set[str]] = {}
        for candidate_id, item_id in rows:
            stored.setdefault(candidate_id, set()).add(item_id)
        return stored


async def test_answers_of_many_connections_share_transactions(
    server: LiveServer, exam: Exam, sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = server.app[RUNTIME].group
    clients, papers, proctor = await _room(server, exam)
    try:
        before = writer.batches
        frames = [_answers(paper, 10) for paper in papers]

        async def answer_all(client: Client, answers: list[dict[str, Any]]) -> None:
            for answer in answers:  # one at a time, each after the last ack
                await client.send(answer)
                assert await client.expect("ack", seq=answer["seq"])

        # The writer is held until each connection's first answer waits for it, so that
        # they meet however fast or slow the machine.
        lock = server.app[RUNTIME]._write_lock
        assert lock is not None  # SQLite: this process's writers queue on it
        taken: list[int] = []
        take = writer._take

        def counted_take() -> list[Any]:
            batch = take()
            taken.append(len(batch))
            return batch

        monkeypatch.setattr(writer, "_take", counted_take)
        async with lock:
            answering = asyncio.gather(
                *(answer_all(c, f) for c, f in zip(clients, frames, strict=True))
            )
            await wait_until(
                lambda: sum(taken) + len(writer._pending) == len(clients),
                "the first answer of each connection to wait for the writer",
            )
        await answering
        written = writer.batches - before
        # 40 answers from 4 connections, each waiting for its ack: in fewer transactions.
        assert 0 < written < 40
        stored = await _stored(sqlite_settings)
        for person, answers in zip(exam.people, frames, strict=True):
            assert stored[person.id] == {a["item_id"] for a in answers}
    finally:
        for client in [*clients, proctor]:
            await client.close()


async def test_logins_arriving_together_share_transactions(
    server: LiveServer, exam: Exam, sqlite_settings: Settings
) -> None:
    """A room checking in (or reconnecting) at once: logins share transactions, and a
    refused one (wrong ID-card number) writes nothing and fails nobody else."""
    writer = server.app[RUNTIME].group
    before = writer.batches

    async def wrong_login() -> dict[str, Any]:
        client = await Client.open(f"{server.ws_url}/ws/candidate")
        try:
            await client.send({"type": "hello", "protocol": SUBPROTOCOL,
                               "ticket": exam.people[0].ticket, "id_number": "X" * 18})  # fmt: skip
            return await client.expect("error")
        finally:
            await client.close()

    *logins, refused = await asyncio.gather(
        *(candidate_login(server.ws_url, p.ticket, p.id_number) for p in exam.people),
        wrong_login(),
    )
    try:
        assert refused["code"] == "login_failed"
        assert all(state["candidate"]["state"] == "checked_in" for _, state in logins)
        # Through the group commit (how many share one depends on when each arrives).
        assert 0 < writer.batches - before <= len(exam.people) + 1
        async with open_db(sqlite_settings) as db:
            held = list(await db.scalars(select(models.Candidate.connection_id)))
        assert None not in held and len(set(held)) == len(exam.people)
    finally:
        for client, _ in logins:
            await client.close()


async def test_a_failing_connection_does_not_fail_the_others(
    server: LiveServer, exam: Exam, sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    clients, papers, proctor = await _room(server, exam)
    broken = exam.people[0].id
    real = changes.save_changes_many

    async def save_changes_many(session: Any, requests: Any, **kwargs: Any) -> Any:
        if any(request.candidate_id == broken for request in requests):
            raise RuntimeError("disk full (simulated) for one candidate")
        return await real(session, requests, **kwargs)

    monkeypatch.setattr(changes, "save_changes_many", save_changes_many)
    try:
        frames = [_answers(paper, 1)[0] for paper in papers]
        for client, frame in zip(clients, frames, strict=True):  # all in flight together
            await client.send(frame)
        error = await clients[0].expect("error")
        assert error["ref_seq"] == 1
        for client in clients[1:]:
            assert await client.expect("ack", seq=1)
        stored = await _stored(sqlite_settings)
        assert broken not in stored  # nothing of theirs, and nothing acknowledged
        for person, frame in zip(exam.people[1:], frames[1:], strict=True):
            assert stored[person.id] == {frame["item_id"]}
    finally:
        for client in [*clients, proctor]:
            await client.close()


async def test_a_room_submitting_together_is_submitted_and_graded(
    server: LiveServer, exam: Exam, sqlite_settings: Settings
) -> None:
    clients, _papers, proctor = await _room(server, exam)
    try:
        for client in clients:
            await client.send({"type": "submit", "seq": 1})
        for client in clients:
            assert await client.expect("ack", seq=1)
            result = await client.expect("result")
            assert result["max_total"] > 0
    finally:
        for client in [*clients, proctor]:
            await client.close()
    async with open_db(sqlite_settings) as db:
        states = set(await db.scalars(select(models.Candidate.state)))
        results = list(await db.scalars(select(models.Result.candidate_id)))
    assert states == {"graded"}
    assert sorted(results) == sorted(person.id for person in exam.people)


class _FakeRuntime:
    """Just what GroupCommit uses: `unit()`, counting transactions and commits."""

    def __init__(self, fail_commit_when: Any = None) -> None:
        self.units = 0
        self.committed: list[list[str]] = []
        self.fail_commit_when = fail_commit_when

    @contextlib.asynccontextmanager
    async def unit(self) -> Any:
        self.units += 1
        work = Work(session=None, events=[])  # type: ignore[arg-type]
        yield work
        kinds = [event.data["who"] for event in work.events]
        if self.fail_commit_when is not None and self.fail_commit_when(kinds):
            raise RuntimeError("commit failed")
        self.committed.append(kinds)


def _job(who: str, *, refuse: bool = False, crash: bool = False) -> Any:
    async def job(_session: Any, events: list[Event]) -> str:
        events.append(Event(Kind.CANDIDATE_PAUSED, 1, 1, {"who": who}))
        if refuse:
            raise Paused("paused")
        if crash:
            raise RuntimeError("bug")
        return who

    return job


async def test_group_commit_batches_waiting_jobs_and_isolates_failures() -> None:
    runtime = _FakeRuntime(fail_commit_when=lambda kinds: "poison" in kinds and len(kinds) > 1)
    group = GroupCommit(runtime)  # type: ignore[arg-type]
    outcomes = await asyncio.gather(
        group.run(_job("a")),
        group.run(_job("refused", refuse=True)),
        group.run(_job("b")),
        group.run(_job("crash", crash=True)),
        group.run(_job("c")),
        return_exceptions=True,
    )
    assert outcomes[0] == "a" and outcomes[2] == "b" and outcomes[4] == "c"
    assert isinstance(outcomes[1], Paused)  # refused: its events are not committed
    assert isinstance(outcomes[3], RuntimeError)  # failed alone, after the batch failed
    # One shared try (it failed on the crash), then each alone (the refusal alone commits
    # nothing of its own); nothing of a failed transaction was kept.
    assert runtime.committed == [["a"], [], ["b"], ["c"]]
    assert runtime.units == 1 + 5

    runtime = _FakeRuntime(fail_commit_when=lambda kinds: "poison" in kinds and len(kinds) > 1)
    group = GroupCommit(runtime)  # type: ignore[arg-type]
    outcomes = await asyncio.gather(*(group.run(_job(w)) for w in ("x", "poison", "y")),
                                    return_exceptions=True)  # fmt: skip
    assert outcomes == ["x", "poison", "y"]  # the shared commit failed; alone each commits
    assert runtime.committed == [["x"], ["poison"], ["y"]]

    runtime = _FakeRuntime()
    group = GroupCommit(runtime, max_batch=2)  # type: ignore[arg-type]
    assert await asyncio.gather(*(group.run(_job(str(n))) for n in range(5))) == [
        "0", "1", "2", "3", "4"
    ]  # fmt: skip
    assert runtime.committed == [["0", "1"], ["2", "3"], ["4"]]
    assert group.batches == 3


async def test_background_work_never_shares_a_transaction_and_takes_turns() -> None:
    """Gradings are background work: while a room submits, an answer must not wait in a
    transaction grading hundreds. They run a few at a time, in transactions of their own,
    taking turns with the waiting answers so that neither starves."""

    async def note(_rt: Any, _session: Any, events: list[Event], items: list[str]) -> list[str]:
        events.extend(Event(Kind.CANDIDATE_GRADED, 1, 1, {"who": i}) for i in items)
        return items

    runtime = _FakeRuntime()
    group = GroupCommit(runtime, background_batch=3)  # type: ignore[arg-type]
    grades = [group.run_batched(note, f"g{n}", background=True) for n in range(7)]
    answers = [group.run_batched(note, f"a{n}") for n in range(4)]
    assert await asyncio.gather(*grades, *answers) == [
        *(f"g{n}" for n in range(7)), *(f"a{n}" for n in range(4))
    ]  # fmt: skip
    # Foreground first, then background and the rest by turns; never mixed, 3 at most.
    assert runtime.committed == [
        ["a0", "a1", "a2", "a3"], ["g0", "g1", "g2"], ["g3", "g4", "g5"], ["g6"]
    ]  # fmt: skip

    runtime = _FakeRuntime()
    group = GroupCommit(runtime, background_batch=2)  # type: ignore[arg-type]

    async def trickle() -> None:  # an answer arrives during every transaction
        for n in range(4):
            await group.run_batched(note, f"a{n}")

    grading = asyncio.gather(*(group.run_batched(note, f"g{n}", background=True) for n in range(4)))
    await asyncio.gather(trickle(), grading)
    kinds = [{who[0] for who in batch} for batch in runtime.committed]
    assert all(len(k) == 1 for k in kinds)  # never mixed
    assert sum(1 for k in kinds if k == {"g"}) == 2  # not starved by the answers
