"""Submits of many connections done together (`submit_many`) do exactly what one by one
would do, refusals included, with a number of statements that does not grow with the
number of connections; the audit chain they append to stays intact and in order."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cbt_server import audit
from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.db.types import utcnow
from cbt_server.runtime.candidate import submit as svc
from cbt_server.runtime.candidate.changes import SaveRequest, save_changes_many
from cbt_server.runtime.events import Event, Kind
from cbt_server.settings import Settings
from tests.runtime.test_room_states import counting
from tests.runtime.test_save_many import POLICY, Room, _answer, _room


async def _scenario(
    room: Room, sessionmaker: async_sessionmaker[AsyncSession]
) -> list[svc.SubmitRequest]:
    """One of each case, by seat: submitted; lost the connection; paused; a submit and
    its resend in the same batch; a resend below the mark of a submit never applied;
    a resend of a submit the time applied meanwhile; a new submit of a paper already in."""
    ids = [person.id for person in room.exam.people]
    one, two, three, four, five, six, seven = ids[:7]
    async with sessionmaker.begin() as session:
        session.add(models.Pause(session_id=room.exam.session_id, candidate_id=three,
                                 started_at=utcnow() - timedelta(seconds=5)))  # fmt: skip
        paused = await session.get(models.Candidate, three)
        assert paused is not None
        paused.state = "paused"
        await save_changes_many(
            session,
            [SaveRequest(five, room.conns[five], [_answer(room, five, 0, 3)])],
            now=utcnow(),
            policy=POLICY,
            events=[],
        )  # seq 2 was a submit refused back then; 3 an answer acknowledged since
        for seat, mark in ((six, 4), (seven, 4)):
            done = await session.get(models.Candidate, seat)
            assert done is not None
            done.state, done.submit_reason, done.submitted_at = "submitted", "timeout", utcnow()
            done.acked_seq = mark
    conns = room.conns
    return [
        svc.SubmitRequest(one, conns[one], 1),
        svc.SubmitRequest(two, "an-older-connection", 1),
        svc.SubmitRequest(three, conns[three], 1),
        svc.SubmitRequest(four, conns[four], 1),
        svc.SubmitRequest(four, conns[four], 1),
        svc.SubmitRequest(five, conns[five], 2),
        svc.SubmitRequest(six, conns[six], 4),
        svc.SubmitRequest(seven, conns[seven], 5),
    ]


def _describe(outcome: svc.SubmitOutcome) -> Any:
    return outcome if isinstance(outcome, bool) else type(outcome).__name__


async def _stored(sessionmaker: async_sessionmaker[AsyncSession], room: Room) -> list[Any]:
    seats = {person.id: person.seat for person in room.exam.people}
    async with sessionmaker() as session:
        candidates = await session.scalars(
            select(models.Candidate).where(models.Candidate.id.in_(seats)).order_by("seat")
        )
        rows = [(c.seat, c.state, c.submit_reason, c.acked_seq) for c in candidates]
        target = audit.candidate_target(room.exam.code, "")
        entries = await session.scalars(
            select(models.AuditEntry.target)
            .where(
                models.AuditEntry.action == "candidate.submit",
                models.AuditEntry.target.startswith(target),
            )
            .order_by(models.AuditEntry.id)
        )
        tickets = {person.ticket: person.seat for person in room.exam.people}
        audited = [tickets[t.removeprefix(target)] for t in entries]
    return [rows, audited]


async def test_submitted_together_exactly_as_one_by_one(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    cipher = ContentCipher.from_data_dir(settings.data_path)
    alone = await _room(sessionmaker, cipher, "A", 7)
    together = await _room(sessionmaker, cipher, "B", 7)

    alone_outcomes: list[Any] = []
    alone_events: list[Event] = []
    for request in await _scenario(alone, sessionmaker):
        async with sessionmaker.begin() as session:
            (outcome,) = await svc.submit_many(
                session, [request], now=utcnow(), policy=POLICY, events=alone_events
            )
        alone_outcomes.append(_describe(outcome))

    requests = await _scenario(together, sessionmaker)
    events: list[Event] = []
    async with sessionmaker.begin() as session:
        outcomes = await svc.submit_many(
            session, requests, now=utcnow(), policy=POLICY, events=events
        )

    assert [_describe(o) for o in outcomes] == alone_outcomes == [
        True, "LoggedInElsewhere", "Paused", True, False, "StaleSeq", False, "AlreadySubmitted",
    ]  # fmt: skip
    assert (
        await _stored(sessionmaker, together)
        == await _stored(sessionmaker, alone)
        == [
            [
                (1, "submitted", "candidate", 1),
                (2, "answering", None, 0),
                (3, "paused", None, 0),
                (4, "submitted", "candidate", 1),
                (5, "answering", None, 3),
                (6, "submitted", "timeout", 4),
                (7, "submitted", "timeout", 4),
            ],
            [1, 4],
        ]
    )
    seat_of = {p.id: p.seat for p in [*alone.exam.people, *together.exam.people]}
    told = [(seat_of[e.candidate_id or 0], e.kind, e.data["reason"]) for e in events]
    assert told == [(1, Kind.CANDIDATE_SUBMITTED, "candidate"),
                    (4, Kind.CANDIDATE_SUBMITTED, "candidate")]  # fmt: skip
    assert told == [(seat_of[e.candidate_id or 0], e.kind, e.data["reason"]) for e in alone_events]
    async with sessionmaker() as session:
        assert (await audit.verify_chain(session)).intact


async def test_the_statements_do_not_grow_with_the_connections(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    cipher = ContentCipher.from_data_dir(settings.data_path)
    room = await _room(sessionmaker, cipher, "A", 40)
    counts = []
    for people in (room.exam.people[:4], room.exam.people[4:]):
        requests = [svc.SubmitRequest(p.id, room.conns[p.id], 1) for p in people]
        async with sessionmaker.begin() as session:
            with counting(session) as statements:
                outcomes = await svc.submit_many(
                    session, requests, now=utcnow(), policy=POLICY, events=[]
                )
        assert outcomes == [True] * len(requests)
        counts.append(len(statements))
    assert 0 < counts[0] == counts[1], "\n".join(s.split("\n")[0][:70] for s in statements)
    assert counts[1] <= 12, statements  # was 9 a connection, each a transaction of its own
    async with sessionmaker() as session:
        report = await audit.verify_chain(session)
        assert report.intact, report.problem
