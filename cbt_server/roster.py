"""Candidate rosters (考生名册): import from xlsx/CSV, all rows or none; the `cbt roster` CLI.

A roster has the columns 准考证号 (ticket), 身份证号 (ID-card number), 姓名 (name),
职业 (occupation), 等级 (level), 场次 (session code) and 座位号 (seat); other columns are
ignored. Every row is checked: an 18-digit ID-card number with its GB 11643 check digit,
an occupation and level the catalogue knows and that match the session's, a session that
exists and has not started, a seat the room has, no ticket or seat twice (in the file or
already registered). One bad row rejects the whole file, listing every problem by row
number as the spreadsheet shows it; a good file is stored in one transaction.
"""

from __future__ import annotations

import csv
import getpass
import io
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit, idcard
from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.errors import InvalidInput, NotFound, PaperUnavailable
from cbt_server.runtime.papers import ensure_papers
from item_bank import catalogue
from item_bank.importers.safezip import SafeZip, UnsafeZip
from item_bank.importers.xlsx_csv import decode_csv

COLUMNS = {
    "ticket": "准考证号",
    "id_number": "身份证号",
    "name": "姓名",
    "occupation": "职业",
    "level": "等级",
    "session": "场次",
    "seat": "座位号",
}
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
OPEN_STATES = ("scheduled", "checkin")


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason the file is rejected: the spreadsheet row and column, if any."""

    row: int | None
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = [f"row {self.row}"] if self.row is not None else []
        if self.column:
            where.append(self.column)
        return f"{', '.join(where)}: {self.reason}" if where else self.reason


class RosterRejected(InvalidInput):
    """The roster file was refused; nothing was stored. `problems` lists every reason."""

    code = "roster_rejected"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        shown = "\n".join(f"  {p}" for p in self.problems[:200])
        more = len(self.problems) - 200
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(
            f"roster rejected, nothing imported ({len(self.problems)} problem(s)):\n{shown}{tail}"
        )


@dataclass(frozen=True, slots=True)
class RosterRow:
    row: int
    ticket: str
    id_number: str
    name: str
    occupation: str
    level: int
    session: str
    seat: int


@dataclass(frozen=True, slots=True)
class ImportReport:
    imported: int
    per_session: dict[str, int]


# --- reading the file -----------------------------------------------------------------


def read_table(data: bytes, filename: str) -> list[tuple[int, list[Any]]]:
    """The rows of a roster file (xlsx: its first sheet with data), numbered from 1."""
    if len(data) > MAX_FILE_BYTES:
        raise RosterRejected([Problem(None, None, f"file larger than {MAX_FILE_BYTES} bytes")])
    if filename.lower().endswith(".xlsx"):
        return _xlsx_rows(data)
    if filename.lower().endswith(".csv"):
        return _csv_rows(data)
    raise RosterRejected([Problem(None, None, "a roster is an .xlsx or .csv file")])


def _csv_rows(data: bytes) -> list[tuple[int, list[Any]]]:
    text = decode_csv(data)
    if text is None:
        raise RosterRejected([Problem(None, None, "CSV is neither UTF-8 nor GBK/GB18030 text")])
    rows: list[tuple[int, list[Any]]] = []
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            if number > MAX_ROWS + 1:
                raise RosterRejected([Problem(None, None, f"more than {MAX_ROWS} rows")])
            rows.append((number, list(row)))
    except csv.Error as error:
        raise RosterRejected([Problem(len(rows) + 1, None, f"malformed CSV: {error}")]) from None
    return rows


def _xlsx_rows(data: bytes) -> list[tuple[int, list[Any]]]:
    try:
        SafeZip(data)  # sizes, ratios and names checked before openpyxl unpacks anything
    except UnsafeZip as error:
        raise RosterRejected([Problem(None, None, f"not a usable .xlsx file: {error}")]) from None
    import openpyxl  # only spreadsheet imports pay for it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types on bad files
        raise RosterRejected([Problem(None, None, f"not a readable workbook: {error}")]) from None
    try:
        for sheet in workbook.worksheets:
            rows: list[tuple[int, list[Any]]] = []
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                if number > MAX_ROWS + 1:
                    raise RosterRejected([Problem(None, None, f"more than {MAX_ROWS} rows")])
                rows.append((number, list(values)))
            if any(_text(v) for _, row in rows for v in row):
                return rows
    finally:
        workbook.close()
    raise RosterRejected([Problem(None, None, "the workbook has no rows")])


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


# --- checking rows (no database) ------------------------------------------------------


def parse_rows(rows: Sequence[tuple[int, list[Any]]]) -> tuple[list[RosterRow], list[Problem]]:
    """Rows with values checked on their own and against each other in the file."""
    filled = [(n, r) for n, r in rows if any(_text(v) for v in r)]
    if not filled:
        return [], [Problem(None, None, "the file has no rows")]
    header_row, header = filled[0]
    names = [_text(v).replace(" ", "") for v in header]
    index: dict[str, int] = {}
    problems: list[Problem] = []
    for field, title in COLUMNS.items():
        if names.count(title) > 1:
            problems.append(Problem(header_row, title, "column appears more than once"))
        elif title not in names:
            problems.append(Problem(header_row, title, "required column is missing"))
        else:
            index[field] = names.index(title)
    if problems:
        return [], problems
    parsed: list[RosterRow] = []
    for number, row in filled[1:]:
        cells = {f: row[i] if i < len(row) else None for f, i in index.items()}
        checked = _row(number, cells, problems)
        if checked is not None:
            parsed.append(checked)
    if not parsed and not problems:
        problems.append(Problem(None, None, "the file has a header but no candidates"))
    problems.extend(_duplicates(parsed))
    return parsed, problems


def _row(number: int, cells: dict[str, Any], problems: list[Problem]) -> RosterRow | None:
    before = len(problems)

    def fail(field: str, reason: str) -> None:
        problems.append(Problem(number, COLUMNS[field], reason))

    texts = {field: _text(value) for field, value in cells.items()}
    for field, text in texts.items():
        if not text:
            fail(field, "empty")
        elif text[0] in "=+@" or (text[0] == "-" and field != "seat"):
            fail(field, f"{text[:20]!r} looks like a spreadsheet formula, not a value")
    if texts["ticket"] and len(texts["ticket"]) > 64:
        fail("ticket", "longer than 64 characters")
    if texts["name"] and len(texts["name"]) > 128:
        fail("name", "longer than 128 characters")
    if isinstance(cells["id_number"], int | float) and not isinstance(cells["id_number"], bool):
        fail("id_number", "stored as a number, which loses digits: format the column as text")
    elif texts["id_number"]:
        reason = idcard.problem(texts["id_number"])
        if reason is not None:
            fail("id_number", reason)
    occupation = level = seat = None
    if texts["occupation"]:
        try:
            occupation = catalogue.occupation(texts["occupation"]).code
        except catalogue.UnknownOccupation:
            fail("occupation", f"unknown occupation {texts['occupation']!r}")
    if texts["level"]:
        try:
            level = catalogue.level(texts["level"])
        except catalogue.UnknownLevel:
            fail("level", f"unknown level {texts['level']!r}")
    if texts["seat"]:
        if texts["seat"].isdigit() and 1 <= int(texts["seat"]) <= 100_000:
            seat = int(texts["seat"])
        else:
            fail("seat", f"{texts['seat']!r} is not a seat number")
    if len(problems) > before or occupation is None or level is None or seat is None:
        return None
    return RosterRow(
        row=number,
        ticket=texts["ticket"],
        id_number=idcard.normalise(texts["id_number"]),
        name=texts["name"],
        occupation=occupation,
        level=level,
        session=texts["session"],
        seat=seat,
    )


def _duplicates(rows: Sequence[RosterRow]) -> list[Problem]:
    problems: list[Problem] = []
    first_ticket: dict[str, int] = {}
    first_seat: dict[tuple[str, int], int] = {}
    first_person: dict[tuple[str, str], int] = {}
    for row in rows:
        if row.ticket in first_ticket:
            problems.append(
                Problem(
                    row.row, COLUMNS["ticket"], f"same ticket as row {first_ticket[row.ticket]}"
                )
            )
        first_ticket.setdefault(row.ticket, row.row)
        seat_key = (row.session, row.seat)
        if seat_key in first_seat:
            problems.append(
                Problem(
                    row.row,
                    COLUMNS["seat"],
                    f"seat {row.seat} of session {row.session} also given in row "
                    f"{first_seat[seat_key]}",
                )
            )
        first_seat.setdefault(seat_key, row.row)
        person = (row.session, row.id_number)
        if person in first_person:
            problems.append(
                Problem(
                    row.row,
                    COLUMNS["id_number"],
                    f"this person is already in session {row.session} (row {first_person[person]})",
                )
            )
        first_person.setdefault(person, row.row)
    return problems


# --- against the database -------------------------------------------------------------


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
    taken_tickets = set(
        await session.scalars(
            select(models.Candidate.ticket).where(
                models.Candidate.ticket.in_([r.ticket for r in rows])
            )
        )
    )
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

        if row.ticket in taken_tickets:
            fail("ticket", f"ticket {row.ticket} is registered already")
        exam = exams.get(row.session)
        if exam is None:
            fail("session", f"no session {row.session!r}")
            continue
        if exam.state not in OPEN_STATES:
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
    for row in rows:
        session.add(
            models.Candidate(
                ticket=row.ticket,
                id_number=row.id_number,
                name=row.name,
                occupation=row.occupation,
                level=row.level,
                session_id=exams[row.session].id,
                seat=row.seat,
            )
        )
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
    exam = await session.scalar(select(models.ExamSession).where(models.ExamSession.code == code))
    if exam is None:
        raise NotFound(f"no session {code!r}")
    candidates = list(
        await session.scalars(
            select(models.Candidate).where(
                models.Candidate.session_id == exam.id, models.Candidate.state != "absent"
            )
        )
    )
    return await ensure_papers(session, cipher, exam, candidates)


# --- the `cbt roster` commands --------------------------------------------------------


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:128]
    except (KeyError, OSError):
        return "cli"


@click.group("roster")
def roster_group() -> None:
    """Candidate rosters (考生名册) of exam sessions, and their papers."""


@roster_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file; store nothing.")
@click.option("--no-papers", is_flag=True, help="Do not assemble papers after the import.")
@click.pass_context
def import_command(ctx: click.Context, file: Path, dry_run: bool, no_papers: bool) -> None:
    """Import FILE (.xlsx or .csv: 准考证号, 身份证号, 姓名, 职业, 等级, 场次, 座位号).

    Every row is checked; one bad row rejects the whole file and nothing is stored.
    After an import the candidates' papers are assembled where the session's blueprint
    and items are in the bank (else later with `cbt roster prepare`).
    """
    from cbt_server.cli import CliError, run_in_db, settings_from

    settings = settings_from(ctx)
    try:
        data = file.read_bytes()
    except OSError as error:
        raise CliError(f"cannot read {file}: {error.strerror or error}") from None

    async def work(session: AsyncSession) -> ImportReport:
        return await import_roster(session, data, file.name, _actor(), dry_run=dry_run)

    report = run_in_db(settings, work)
    verb = "would import" if dry_run else "imported"
    sessions = ", ".join(f"{code}: {n}" for code, n in sorted(report.per_session.items()))
    click.echo(f"{verb} {report.imported} candidate(s) ({sessions})")
    if dry_run or no_papers:
        return
    cipher = ContentCipher.from_data_dir(settings.data_path)
    for code in sorted(report.per_session):

        async def papers(session: AsyncSession, code: str = code) -> str:
            try:
                return f"{await prepare_papers(session, cipher, code)} paper(s) assembled"
            except PaperUnavailable as error:
                return f"papers not assembled yet: {error.message}"

        click.echo(f"{code}: {run_in_db(settings, papers)}")


@roster_group.command("prepare")
@click.argument("session_code")
@click.pass_context
def prepare_command(ctx: click.Context, session_code: str) -> None:
    """Assemble the papers of session SESSION_CODE ahead of the start (idempotent)."""
    from cbt_server.cli import run_in_db, settings_from

    settings = settings_from(ctx)
    cipher = ContentCipher.from_data_dir(settings.data_path)

    async def work(session: AsyncSession) -> int:
        return await prepare_papers(session, cipher, session_code)

    click.echo(f"{session_code}: {run_in_db(settings, work)} paper(s) assembled")


@roster_group.command("list")
@click.argument("session_code")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_command(ctx: click.Context, session_code: str, as_json: bool) -> None:
    """List the candidates of session SESSION_CODE by seat."""
    from cbt_server.cli import run_in_db, settings_from

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        exam = await session.scalar(
            select(models.ExamSession).where(models.ExamSession.code == session_code)
        )
        if exam is None:
            raise NotFound(f"no session {session_code!r}")
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
        return [
            {
                "seat": c.seat,
                "ticket": c.ticket,
                "name": c.name,
                "state": c.state,
                "paper": c.id in with_paper,
            }
            for c in rows
        ]

    rows = run_in_db(settings_from(ctx), work)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        paper = "paper ready" if row["paper"] else "no paper"
        click.echo(f"{row['seat']:>4}  {row['ticket']}\t{row['name']}\t{row['state']}\t{paper}")
