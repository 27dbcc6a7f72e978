"""Candidate rosters (考生名册) against the database: import, papers, listing.

One bad row rejects the whole file, listing every problem by row number as the
spreadsheet shows it (cbt_server.enrolment.roster_file reads and checks the file; the
checks here are those that need the database: a session that exists and has not
started, a seat the room has, a ticket or seat not registered already in it, a ticket
registered elsewhere only to the same person); a good file is
stored in one transaction.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.enrolment.roster_file import (
    COLUMNS,
    Problem,
    RosterRejected,
    RosterRow,
    parse_rows,
    read_table,
)
from cbt_server.errors import NotFound
from cbt_server.exam.practice import PRACTICE
from cbt_server.runtime.papers import ensure_papers
from item_bank import catalogue

__all__ = [
    "COLUMNS",
    "ImportReport",
    "Problem",
    "RosterRejected",
    "check_against_database",
    "import_roster",
    "list_roster",
    "parse_rows",
    "prepare_papers",
    "read_table",
]

OPEN_STATES = ("scheduled", "checkin")


@dataclass(frozen=True, slots=True)
class ImportReport:
    imported: int
    per_session: dict[str, int]


class Entrant(Protocol):
    """Who sits in a seat: a roster row, a demo or test person."""

    @property
    def ticket(self) -> str: ...
    @property
    def id_number(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def seat(self) -> int: ...


def candidate_row(exam: models.ExamSession, entrant: Entrant) -> models.Candidate:
    """The candidate row registering `entrant` in `exam` (not added to any session)."""
    who = {field: getattr(entrant, field) for field in ("ticket", "id_number", "name", "seat")}
    return models.Candidate(occupation=exam.occupation, level=exam.level, session_id=exam.id, **who)


async def session_by_code(session: AsyncSession, code: str) -> models.ExamSession:
    """The exam session called `code`; NotFound when there is none."""
    exam = await session.scalar(select(models.ExamSession).where(models.ExamSession.code == code))
    if exam is None:
        raise NotFound(f"no session {code!r}")
    return exam


async def check_against_database(session: AsyncSession, rows: Sequence[RosterRow]) -> list[Problem]:
    """Sessions exist, are open and match; seats exist; tickets and seats are still free."""
    problems: list[Problem] = []
    codes = sorted({r.session for r in rows})
    exams = {
        e.code: e
        for e in await session.scalars(
            select(models.ExamSession).where(models.ExamSession.code.in_(codes))
        )
    }
    rooms = {
        r.id: r
        for r in await session.scalars(
            select(models.Room).where(models.Room.id.in_([e.room_id for e in exams.values()]))
        )
    }
    # A ticket is unique within a session, and one person's wherever it is registered.
    ticket_rows = (
        await session.execute(
            select(
                models.Candidate.ticket, models.Candidate.session_id, models.Candidate.id_number
            ).where(models.Candidate.ticket.in_({r.ticket for r in rows}))
        )
    ).all()
    taken_tickets = {(session_id, ticket) for ticket, session_id, _ in ticket_rows}
    ticket_owner = {ticket: id_number for ticket, _, id_number in ticket_rows}
    taken: dict[int, set[int]] = defaultdict(set)
    people: dict[int, set[str]] = defaultdict(set)
    for session_id, seat, id_number in (
        await session.execute(
            select(
                models.Candidate.session_id, models.Candidate.seat, models.Candidate.id_number
            ).where(models.Candidate.session_id.in_([e.id for e in exams.values()]))
        )
    ).all():
        taken[session_id].add(seat)
        people[session_id].add(id_number)
    for row in rows:

        def fail(field: str, reason: str, row: RosterRow = row) -> None:
            problems.append(Problem(row.row, COLUMNS[field], reason))

        owner = ticket_owner.get(row.ticket)
        if owner is not None and owner.strip().upper() != row.id_number.strip().upper():
            fail("ticket", f"ticket {row.ticket} is registered already to another person")
        exam = exams.get(row.session)
        if exam is None:
            fail("session", f"no session {row.session!r}")
            continue
        if (exam.id, row.ticket) in taken_tickets:
            fail("ticket", f"ticket {row.ticket} is registered already in session {row.session}")
        # A practice is open from its creation: it takes candidates as long as it runs.
        open_practice = exam.mode == PRACTICE and exam.state == "started"
        if exam.state not in OPEN_STATES and not open_practice:
            fail("session", f"session {row.session} has {exam.state}: too late to register")
        if (row.occupation, row.level) != (exam.occupation, exam.level):
            fail(
                "occupation",
                f"{catalogue.occupation(row.occupation).name_zh} "
                f"{catalogue.level_name(row.level)} does not match session {row.session} "
                f"({catalogue.occupation(exam.occupation).name_zh} "
                f"{catalogue.level_name(exam.level)})",
            )
        room = rooms.get(exam.room_id)
        if room is not None and row.seat > room.seat_count:
            fail("seat", f"room {room.code} has seats 1 to {room.seat_count}")
        if row.seat in taken[exam.id]:
            fail("seat", f"seat {row.seat} of session {row.session} is taken already")
        if row.id_number in people[exam.id]:
            fail("id_number", f"this person is registered in session {row.session} already")
    return problems


async def import_rows(
    session: AsyncSession, rows: Sequence[RosterRow], actor: str, *, dry_run: bool = False
) -> ImportReport:
    """Check every row against the database and store all of them, or raise RosterRejected."""
    problems = await check_against_database(session, rows)
    if problems:
        raise RosterRejected(sorted(problems, key=lambda p: p.row or 0))
    per_session = dict(Counter(r.session for r in rows))
    if dry_run:
        return ImportReport(len(rows), per_session)
    exams = {
        e.code: e
        for e in await session.scalars(
            select(models.ExamSession).where(models.ExamSession.code.in_(list(per_session)))
        )
    }
    # In the file's order: one candidate row per roster row, as the exam's occupation
    # and level (the checks above made sure the row says the same).
    session.add_all(candidate_row(exams[row.session], row) for row in rows)
    await session.flush()
    for code, count in per_session.items():
        await audit.record(
            session,
            actor,
            "cli",
            "roster.import",
            audit.session_target(code),
            data={"candidates": count},
        )
    return ImportReport(len(rows), per_session)


async def import_roster(
    session: AsyncSession, data: bytes, filename: str, actor: str, *, dry_run: bool = False
) -> ImportReport:
    """Read, check and store a roster file: all rows or none (RosterRejected says why)."""
    rows, problems = parse_rows(read_table(data, filename))
    if problems:
        raise RosterRejected(problems)
    return await import_rows(session, rows, actor, dry_run=dry_run)


async def prepare_papers(session: AsyncSession, cipher: ContentCipher, code: str) -> int:
    """Assemble papers for every candidate of session `code` who has none yet."""
    exam = await session_by_code(session, code)
    candidates = list(
        await session.scalars(
            select(models.Candidate).where(
                models.Candidate.session_id == exam.id, models.Candidate.state != "absent"
            )
        )
    )
    return await ensure_papers(session, cipher, exam, candidates)


async def list_roster(session: AsyncSession, code: str) -> list[dict[str, Any]]:
    """The candidates of session `code` by seat, and whether each has a paper."""
    exam = await session_by_code(session, code)
    with_paper = set(
        await session.scalars(
            select(models.Paper.candidate_id).where(models.Paper.session_id == exam.id)
        )
    )
    rows = await session.scalars(
        select(models.Candidate)
        .where(models.Candidate.session_id == exam.id)
        .order_by(models.Candidate.seat)
    )
    shown = ("seat", "ticket", "name", "state")
    return [{**{key: getattr(c, key) for key in shown}, "paper": c.id in with_paper} for c in rows]
