"""Roster import: every row checked, one bad row rejects the file, nothing half-stored."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from cbt_server.cli.roster import roster_group
from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.db.engine import make_engine, make_sessionmaker
from cbt_server.db.migrate import upgrade
from cbt_server.enrolment.roster import (
    COLUMNS,
    Problem,
    RosterRejected,
    import_roster,
    parse_rows,
    read_table,
)
from cbt_server.idcard import make_number
from cbt_server.settings import Settings
from tests.runtime.exam_setup import build_exam, open_db, people, settings_for

HEADER = list(COLUMNS.values())


def person(n: int) -> str:
    return make_number("320102", date(1985, 1 + n % 12, 1 + n % 28), n)


def bad_check_digit(n: int) -> str:
    good = person(n)
    return good[:17] + ("0" if good[17] != "0" else "1")


def row(n: int, **changes: Any) -> list[Any]:
    values = {
        "ticket": f"T{n:04d}",
        "id_number": person(n),
        "name": f"考生{n}",
        "occupation": "电工",
        "level": "高级",
        "session": "S-01",
        "seat": n,
    }
    values.update(changes)
    return [values[field] for field in COLUMNS]


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, *rows])
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for values in [HEADER, *rows]:
        sheet.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def problems_of(data: bytes, name: str = "roster.csv") -> list[str]:
    _, problems = parse_rows(read_table(data, name))
    return [str(p) for p in problems]


# --- file-level checks ----------------------------------------------------------------


def test_good_rows_parse_in_every_encoding() -> None:
    rows = [
        row(1),
        row(2, occupation="electrician", level="3"),
        row(3, id_number=person(3).lower()),
    ]
    for data, name in [
        (csv_bytes(rows), "r.csv"),
        (csv_bytes(rows, "gb18030"), "r.csv"),
        (xlsx_bytes(rows), "r.xlsx"),
    ]:
        parsed, problems = parse_rows(read_table(data, name))
        assert problems == []
        assert [(r.row, r.ticket, r.occupation, r.level, r.seat) for r in parsed] == [
            (2, "T0001", "electrician", 3, 1),
            (3, "T0002", "electrician", 3, 2),
            (4, "T0003", "electrician", 3, 3),
        ]
        assert parsed[2].id_number == person(3).upper()


def test_every_bad_row_is_named_with_its_reason() -> None:
    rows = [
        row(1),
        row(2, id_number=bad_check_digit(2)),
        row(3, id_number="32010219850303003"),
        row(4, occupation="宇航员"),
        row(5, level="特级"),
        row(6, name=""),
        row(7, seat="A7"),
        row(8, name='=HYPERLINK("http://x")'),
        row(9, ticket="T0001"),
        row(10, seat=1),
        row(11, id_number=person(1), ticket="T0011"),
        row(12, id_number="320102198502300123"),
    ]
    found = problems_of(csv_bytes(rows))
    expected_fragments = [
        ("row 3, 身份证号", "check digit"),
        ("row 4, 身份证号", "17 digits"),
        ("row 5, 职业", "unknown occupation '宇航员'"),
        ("row 6, 等级", "unknown level '特级'"),
        ("row 7, 姓名", "empty"),
        ("row 8, 座位号", "not a seat number"),
        ("row 9, 姓名", "formula"),
        ("row 10, 准考证号", "ticket T0001 of session S-01 also given in row 2"),
        ("row 11, 座位号", "also given in row 2"),
        ("row 12, 身份证号", "already in session S-01 (row 2)"),
        ("row 13, 身份证号", "not a real date"),
    ]
    for where, what in expected_fragments:
        assert any(p.startswith(where) and what in p for p in found), (where, what, found)
    assert not any(p.startswith("row 2,") for p in found)


def test_header_problems() -> None:
    out = io.StringIO()
    csv.writer(out).writerows([["准考证号", "姓名", "姓名"], ["T1", "x", "y"]])
    found = problems_of(out.getvalue().encode())
    assert "row 1, 身份证号: required column is missing" in found
    assert "row 1, 姓名: column appears more than once" in found
    assert problems_of(b"") == ["the file has no rows"]
    assert problems_of(csv_bytes([])) == ["the file has a header but no candidates"]


def test_id_number_stored_as_a_number_in_xlsx_is_refused() -> None:
    found = problems_of(xlsx_bytes([row(1, id_number=320102198501010012)]), "r.xlsx")
    assert any("身份证号" in p and "loses digits" in p for p in found)


def test_unreadable_files_are_refused() -> None:
    with pytest.raises(RosterRejected, match="an .xlsx or .csv file"):
        read_table(b"data", "roster.pdf")
    with pytest.raises(RosterRejected, match="not a usable .xlsx"):
        read_table(b"PK\x03\x04 not really a zip", "roster.xlsx")
    with pytest.raises(RosterRejected, match="neither UTF-8 nor GBK"):
        read_table(b"\xff\xfe\xfa\xfb" * 3 + b"\x81", "roster.csv")
    assert str(Problem(3, "姓名", "empty")) == "row 3, 姓名: empty"


# --- against the database -------------------------------------------------------------


async def _count(settings: Settings) -> int:
    async with open_db(settings) as db:
        return int(await db.scalar(select(func.count()).select_from(models.Candidate)) or 0)


async def _import(settings: Settings, data: bytes, name: str = "r.csv") -> object:
    engine = make_engine(settings.effective_database_url)
    try:
        async with make_sessionmaker(engine).begin() as db:
            return await import_roster(db, data, name, "test")
    finally:
        await engine.dispose()


@pytest.fixture
async def roster_db(tmp_path: Path) -> Settings:
    settings = settings_for(tmp_path, "roster")
    engine = make_engine(settings.effective_database_url)
    try:
        await upgrade(engine)
        cipher = ContentCipher.from_data_dir(settings.data_path)
        maker = make_sessionmaker(engine)
        await build_exam(maker, cipher, candidates=2, code="S-01")  # seats 1-2, room of 2
        await build_exam(maker, cipher, candidates=1, code="S-02", with_bank=False, state="started")
        async with maker.begin() as db:  # a bigger room for S-01
            exam = await db.scalar(
                select(models.ExamSession).where(models.ExamSession.code == "S-01")
            )
            assert exam is not None
            room = await db.get(models.Room, exam.room_id)
            assert room is not None
            room.seat_count = 30
    finally:
        await engine.dispose()
    return settings


async def test_database_checks_reject_the_whole_file(roster_db: Settings) -> None:
    before = await _count(roster_db)
    rows = [
        row(3),  # fine on its own
        row(4, session="S-99"),
        row(5, session="S-02"),
        row(6, occupation="育婴员", level="初级"),
        row(7, seat=31),
        row(8, ticket="S-01-0001"),  # registered by build_exam
        row(9, seat=2),  # taken by build_exam
    ]
    with pytest.raises(RosterRejected) as rejected:
        await _import(roster_db, csv_bytes(rows))
    text = [str(p) for p in rejected.value.problems]
    assert any(t.startswith("row 3, 场次") and "no session 'S-99'" in t for t in text)
    assert any(t.startswith("row 4, 场次") and "too late" in t for t in text)
    assert any(t.startswith("row 5, 职业") and "does not match session S-01" in t for t in text)
    assert any(t.startswith("row 6, 座位号") and "seats 1 to 30" in t for t in text)
    assert any(t.startswith("row 7, 准考证号") and "registered already" in t for t in text)
    assert any(t.startswith("row 8, 座位号") and "taken already" in t for t in text)
    assert not any(t.startswith("row 2,") for t in text)
    assert rejected.value.code == "roster_rejected"
    assert "nothing imported" in rejected.value.message
    assert await _count(roster_db) == before  # not one row stored


def test_a_ticket_in_two_sessions_is_one_persons() -> None:
    # The rehearsal and the formal sitting take the same ticket: fine, for one person.
    assert problems_of(csv_bytes([row(1), row(1, session="S-02")])) == []
    found = problems_of(csv_bytes([row(1), row(2, ticket="T0001", session="S-02")]))
    assert found and all(p.startswith("row 3, 准考证号") for p in found)
    assert "ticket T0001 is another person's (row 2)" in found[0]


async def test_a_ticket_registered_in_one_session_may_join_another(roster_db: Settings) -> None:
    engine = make_engine(roster_db.effective_database_url)
    try:
        cipher = ContentCipher.from_data_dir(roster_db.data_path)
        maker = make_sessionmaker(engine)
        await build_exam(
            maker, cipher, candidates=0, code="S-03", with_bank=False, state="scheduled"
        )
    finally:
        await engine.dispose()
    registered = people("S-01", 1)[0]  # S-01-0001, seated by build_exam in S-01
    again = row(1, ticket=registered.ticket, id_number=registered.id_number)
    with pytest.raises(RosterRejected) as rejected:  # twice in one session: refused
        await _import(roster_db, csv_bytes([again]))
    assert "registered already in session S-01" in str(rejected.value.problems[0])
    stranger = row(2, ticket=registered.ticket, session="S-03", seat=1)
    with pytest.raises(RosterRejected) as rejected:  # another person's ticket: refused
        await _import(roster_db, csv_bytes([stranger]))
    assert "registered already to another person" in str(rejected.value.problems[0])
    before = await _count(roster_db)
    formal = row(
        1, ticket=registered.ticket, id_number=registered.id_number, session="S-03", seat=1
    )
    await _import(roster_db, csv_bytes([formal]))  # the same person in another session
    assert await _count(roster_db) == before + 1
    async with open_db(roster_db) as db:
        sessions = await db.scalars(
            select(models.ExamSession.code)
            .join(models.Candidate, models.Candidate.session_id == models.ExamSession.id)
            .where(models.Candidate.ticket == registered.ticket)
        )
        assert sorted(sessions) == ["S-01", "S-03"]


async def test_good_file_is_stored_whole(roster_db: Settings) -> None:
    before = await _count(roster_db)
    report = await _import(roster_db, xlsx_bytes([row(n) for n in range(3, 13)]), "r.xlsx")
    assert report.imported == 10 and report.per_session == {"S-01": 10}  # type: ignore[attr-defined]
    assert await _count(roster_db) == before + 10
    async with open_db(roster_db) as db:
        entry = await db.scalar(
            select(models.AuditEntry).where(models.AuditEntry.action == "roster.import")
        )
    assert entry is not None and entry.data == {"candidates": 10}
    # The same file again: every ticket and seat is taken now.
    with pytest.raises(RosterRejected) as again:
        await _import(roster_db, xlsx_bytes([row(n) for n in range(3, 13)]), "r.xlsx")
    assert len(again.value.problems) >= 20


# --- the CLI --------------------------------------------------------------------------


def test_cli_import_prepare_and_list(roster_db: Settings, tmp_path: Path) -> None:
    good = tmp_path / "roster.csv"
    good.write_bytes(csv_bytes([row(n) for n in range(3, 6)]))
    runner = CliRunner()
    result = runner.invoke(roster_group, ["import", str(good), "--dry-run"], obj=roster_db)
    assert result.exit_code == 0, result.output
    assert "would import 3 candidate(s) (S-01: 3)" in result.output
    assert asyncio.run(_count(roster_db)) == 3

    result = runner.invoke(roster_group, ["import", str(good)], obj=roster_db)
    assert result.exit_code == 0, result.output
    assert "imported 3 candidate(s) (S-01: 3)" in result.output
    assert "S-01: 3 paper(s) assembled" in result.output  # assembled ahead of the start

    listing = runner.invoke(roster_group, ["list", "S-01", "--json"], obj=roster_db)
    assert listing.exit_code == 0, listing.output
    seats = json.loads(listing.output)
    assert [s["seat"] for s in seats] == [1, 2, 3, 4, 5]
    assert all(s["paper"] for s in seats)
    again = runner.invoke(roster_group, ["prepare", "S-01"], obj=roster_db)
    assert "S-01: 0 paper(s) assembled" in again.output

    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([row(20), row(21, id_number=bad_check_digit(21))]))
    result = runner.invoke(roster_group, ["import", str(bad)], obj=roster_db)
    assert result.exit_code != 0
    assert "row 3, 身份证号" in result.output and "nothing imported" in result.output
    assert asyncio.run(_count(roster_db)) == 6


def test_control_characters_and_line_breaks_are_refused_in_every_column() -> None:
    rows = [
        row(1),
        row(2, name="张\n三"),
        row(3, ticket="T\x000003"),
        row(4, name="李四\u202e"),  # a right-to-left override
        row(5, session="S-01\t"),  # trailing whitespace is stripped, not refused
    ]
    found = problems_of(csv_bytes(rows))
    for where, what in [
        ("row 3, 姓名", "line break"),
        ("row 4, 准考证号", "U+0000"),
        ("row 5, 姓名", "U+202E"),
    ]:
        assert any(p.startswith(where) and what in p for p in found), (where, what, found)
    assert not any(p.startswith(("row 2,", "row 6,")) for p in found), found
