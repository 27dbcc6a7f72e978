"""Candidate roster files (考生名册): reading xlsx/CSV and checking rows, no database.

A roster has the columns 准考证号 (ticket), 身份证号 (ID-card number), 姓名 (name),
职业 (occupation), 等级 (level), 场次 (session code) and 座位号 (seat); other columns are
ignored. Every row is checked on its own (an 18-digit ID-card number with its GB 11643
check digit, an occupation and level the catalogue knows, a seat number) and against
the others in the file (no ticket, seat or person twice in a session; a ticket that is
in several sessions always the same person's). The checks against the
database are in cbt_server.enrolment.roster.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from cbt_server import idcard
from cbt_server.enrolment.fields import control_character
from cbt_server.errors import InvalidInput, rejection_message
from item_bank import catalogue
from item_bank.importers.base import reason_of
from item_bank.importers.safezip import SafeZip, UnsafeZip
from item_bank.importers.sheets import SheetTooLarge, workbook_sheets
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
MAX_COLUMNS = 64


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
        super().__init__(rejection_message("roster", self.problems))


@dataclass(frozen=True, slots=True)
class RosterRow:
    """One checked row: where (its spreadsheet row, session and seat), then who."""

    row: int
    session: str
    seat: int
    ticket: str
    id_number: str
    name: str
    occupation: str
    level: int


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
    try:
        for _title, rows in workbook_sheets(data, max_rows=MAX_ROWS + 1, max_columns=MAX_COLUMNS):
            if any(_text(v) for _, row in rows for v in row):
                return rows
    except SheetTooLarge as error:
        header = f" (a header and {MAX_ROWS} candidates)" if error.rows else ""
        raise RosterRejected([Problem(None, None, f"{error}{header}")]) from None
    except Exception as error:  # openpyxl raises many types on bad files
        raise RosterRejected(
            [Problem(None, None, f"not a readable workbook: {reason_of(error)}")]
        ) from None
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
        elif (found := control_character(text)) is not None:
            what = "a line break" if found in ("U+000A", "U+000D") else found
            fail(field, f"holds {what}, a control character")
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


_SAME: tuple[tuple[str, Callable[[RosterRow], Hashable], Callable[[RosterRow, int], str]], ...] = (
    (
        "ticket",
        lambda r: (r.session, r.ticket),
        lambda r, first: f"ticket {r.ticket} of session {r.session} also given in row {first}",
    ),
    (
        "seat",
        lambda r: (r.session, r.seat),
        lambda r, first: f"seat {r.seat} of session {r.session} also given in row {first}",
    ),
    (
        "id_number",
        lambda r: (r.session, r.id_number),
        lambda r, first: f"this person is already in session {r.session} (row {first})",
    ),
)
"""What no two rows may share: the column blamed, the key, and the reason given."""


def _duplicates(rows: Sequence[RosterRow]) -> list[Problem]:
    problems: list[Problem] = []
    first_rows: list[dict[Hashable, int]] = [{} for _ in _SAME]
    for row in rows:
        for (field, key_of, reason), first in zip(_SAME, first_rows, strict=True):
            key = key_of(row)
            if key in first:
                problems.append(Problem(row.row, COLUMNS[field], reason(row, first[key])))
            first.setdefault(key, row.row)
    # A ticket may be in several sessions (the rehearsal, then the formal sitting), but
    # it is one person's: the same ID-card number in every row that gives it.
    owners: dict[str, RosterRow] = {}
    for row in rows:
        owner = owners.setdefault(row.ticket, row)
        if owner.id_number != row.id_number:
            problems.append(
                Problem(
                    row.row,
                    COLUMNS["ticket"],
                    f"ticket {row.ticket} is another person's (row {owner.row})",
                )
            )
    return problems
