"""Answers of many connections saved together (`save_changes_many`) are saved exactly as
one by one would save them, refusals included, with a number of statements that does not
grow with the number of connections."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.db.types import utcnow
from cbt_server.exam.clock import DowntimePolicy
from cbt_server.protocol.candidate import Answer, Flag
from cbt_server.protocol.proctor import Start
from cbt_server.runtime import proctor_service
from cbt_server.runtime.candidate import changes as svc
from cbt_server.runtime.candidate.login import login
from cbt_server.runtime.events import Event
from cbt_server.settings import Settings
from tests.runtime.exam_setup import Exam, build_exam

POLICY = DowntimePolicy.NOT_COUNTED


@dataclass
class Room:
    exam: Exam
    conns: dict[int, str]  # candidate id -> connection id
    items: dict[int, list[tuple[str, tuple[str, ...]]]]  # candidate id -> (item, options)
    indexes: dict[int, svc.PaperIndex]


async def _room(
    sessionmaker: async_sessionmaker[AsyncSession], cipher: ContentCipher, code: str, size: int
) -> Room:
    exam = await build_exam(sessionmaker, cipher, candidates=size, code=code, with_bank=code == "A")
    conns: dict[int, str] = {}
    now = utcnow()
    async with sessionmaker.begin() as session:
        for person in exam.people:
            conns[person.id] = f"conn-{code}-{person.seat}"
            await login(
                session, cipher, ticket=person.ticket, id_number=person.id_number,
                resume_token=None, seat=person.seat, conn_id=conns[person.id], now=now, events=[],
            )  # fmt: skip
    async with sessionmaker.begin() as session:
        who = proctor_service.Actor("proctor", "proctor")
        order = proctor_service.Order(session, exam.session_id, who, now, [], cipher, POLICY)
        await proctor_service.start(order, Start(seq=1))
    room = Room(exam, conns, {}, {})
    await read_papers(sessionmaker, room)
    return room


async def read_papers(sessionmaker: async_sessionmaker[AsyncSession], room: Room) -> None:
    """Each seat's paper index, and its items with their options in paper order."""
    async with sessionmaker() as session:
        for person in room.exam.people:
            room.indexes[person.id] = index = await svc.paper_index(session, person.id)
            room.items[person.id] = [(i, options) for i, (_k, options) in index.items()]


def _answer(room: Room, candidate: int, position: int, seq: int) -> Answer:
    item, options = room.items[candidate][position]
    return Answer(seq=seq, item_id=item, response=[options[0]] if options else ["true"])


async def _scenario(
    room: Room, sessionmaker: async_sessionmaker[AsyncSession]
) -> list[svc.SaveRequest]:
    """One of each case, by seat: saved; lost the connection; paused; two requests of
    one candidate (the second resends the first); an unknown item; resends below the
    mark of a stored and of a refused change."""
    ids = [person.id for person in room.exam.people]
    one, two, three, four, five, six = ids[:6]
    async with sessionmaker.begin() as session:
        session.add(models.Pause(session_id=room.exam.session_id, candidate_id=three,
                                 started_at=utcnow() - timedelta(seconds=5)))  # fmt: skip
        stored = _answer(room, six, 0, 1)
        session.add(models.Answer(candidate_id=six, item_id=stored.item_id,
                                  response=stored.response, flagged=False, seq=1,
                                  updated_at=utcnow()))  # fmt: skip
        paused = await session.get(models.Candidate, three)
        assert paused is not None
        paused.state = "paused"
        candidate = await session.get(models.Candidate, six)
        assert candidate is not None
        candidate.acked_seq = 2  # seq 2 was refused when it was sent
    conns = room.conns
    return [
        svc.SaveRequest(one, conns[one], [_answer(room, one, 0, 1), _answer(room, one, 1, 2)]),
        svc.SaveRequest(two, "an-older-connection", [_answer(room, two, 0, 1)]),
        svc.SaveRequest(three, conns[three], [_answer(room, three, 0, 1)]),
        svc.SaveRequest(four, conns[four], [_answer(room, four, 0, 1)]),
        svc.SaveRequest(
            four,
            conns[four],
            [
                _answer(room, four, 0, 1),
                _answer(room, four, 1, 2),
                Flag(seq=3, item_id=room.items[four][2][0], flagged=True),
            ],
        ),  # fmt: skip
        svc.SaveRequest(
            five,
            conns[five],
            [Answer(seq=1, item_id="no-such-item", response=["A"]), _answer(room, five, 3, 2)],
        ),
        svc.SaveRequest(
            six, conns[six], [stored, _answer(room, six, 1, 2), _answer(room, six, 2, 3)]
        ),
    ]


def _describe(outcome: svc.SaveOutcome) -> Any:
    if isinstance(outcome, list):
        return [None if o is None else type(o).__name__ for o in outcome]
    return type(outcome).__name__


async def _stored(
    sessionmaker: async_sessionmaker[AsyncSession], room: Room
) -> tuple[list[Any], list[int]]:
    seats = {person.id: person.seat for person in room.exam.people}
    async with sessionmaker() as session:
        answers = await session.scalars(
            select(models.Answer).where(models.Answer.candidate_id.in_(seats))
        )
        rows = sorted(
            (seats[a.candidate_id], a.item_id, a.response, a.flagged, a.seq) for a in answers
        )
        candidates = await session.scalars(
            select(models.Candidate).where(models.Candidate.id.in_(seats)).order_by("seat")
        )
        marks = [c.acked_seq for c in candidates]
    # Papers differ between the rooms: compare items and options by their place on the paper.
    places = {
        (seats[cid], item): (n, options)
        for cid, listed in room.items.items()
        for n, (item, options) in enumerate(listed)
    }
    placed = []
    for seat, item, response, flagged, seq in rows:
        n, options = places[(seat, item)]
        chosen = [options.index(r) if r in options else r for r in response]
        placed.append((seat, n, chosen, flagged, seq))
    return sorted(placed, key=repr), marks


async def test_saved_together_exactly_as_one_by_one(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    cipher = ContentCipher.from_data_dir(settings.data_path)
    alone = await _room(sessionmaker, cipher, "A", 6)
    together = await _room(sessionmaker, cipher, "B", 6)

    alone_outcomes: list[Any] = []
    alone_events: list[list[Event]] = []
    for request in await _scenario(alone, sessionmaker):
        events: list[Event] = []
        async with sessionmaker.begin() as session:
            (outcome,) = await svc.save_changes_many(
                session, [request], now=utcnow(), policy=POLICY, events=events
            )
        alone_outcomes.append(_describe(outcome))
        alone_events.append(events)

    requests = await _scenario(together, sessionmaker)
    events = []
    async with sessionmaker.begin() as session:
        outcomes = await svc.save_changes_many(
            session, requests, now=utcnow(), policy=POLICY, events=events
        )

    assert [_describe(o) for o in outcomes] == alone_outcomes == [
        [None, None],
        "LoggedInElsewhere",
        ["Paused", ],
        [None],
        [None, None, None],
        ["UnknownItem", None],
        [None, "StaleSeq", None],
    ]  # fmt: skip
    assert await _stored(sessionmaker, together) == await _stored(sessionmaker, alone)
    seat_of = {p.id: p.seat for p in [*alone.exam.people, *together.exam.people]}
    assert sorted((seat_of[e.candidate_id or 0], e.kind) for e in events) == sorted(
        (seat_of[e.candidate_id or 0], e.kind) for batch in alone_events for e in batch
    )


async def test_the_statements_do_not_grow_with_the_connections(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    cipher = ContentCipher.from_data_dir(settings.data_path)
    room = await _room(sessionmaker, cipher, "A", 40)
    statements: list[str] = []
    record: Callable[..., None] = lambda *args, **_: statements.append(args[2])  # noqa: E731
    event.listen(engine.sync_engine, "before_cursor_execute", record)
    counts = []
    try:
        for round_, size in enumerate((4, 36)):  # each candidate's next item, new rows
            people = room.exam.people[:size] if round_ == 0 else room.exam.people[4:]
            # As a connection sends them: it holds its paper's index.
            requests = [
                svc.SaveRequest(
                    p.id, room.conns[p.id], [_answer(room, p.id, 0, 1)], room.indexes[p.id]
                )
                for p in people
            ]
            statements.clear()
            async with sessionmaker.begin() as session:
                outcomes = await svc.save_changes_many(
                    session, requests, now=utcnow(), policy=POLICY, events=[]
                )
            assert outcomes == [[None]] * len(requests)
            counts.append(len(statements))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert counts[0] == counts[1], "\n".join(s.split("\n")[0][:70] for s in statements)
    assert counts[1] <= 10, statements  # was 8 a connection before they were done together
