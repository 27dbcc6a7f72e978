"""The roster a site attaches to its paper request, with its 补考 (resit) marks.

The site's own roster file (docs/roster.md: 准考证号, 身份证号, 姓名, 职业, 等级, 场次,
座位号) with one more optional column, 补考: 是 / Y / 1 marks a resit. Only the rows of
the requested session, occupation and level go to the centre; a row of that session
for another occupation or level refuses the file (it would not get papers).
"""

from __future__ import annotations

from typing import Any

from cbt_server.enrolment.roster_file import Problem, RosterRejected, parse_rows, read_table

RESIT_COLUMN = "补考"
_YES = {"是", "y", "yes", "1", "true", "补考", "√"}
_NO = {"", "否", "n", "no", "0", "false"}


def _resit_marks(table: list[tuple[int, list[Any]]]) -> dict[int, bool]:
    """Spreadsheet row number → resit mark (no column: nobody is a resit)."""
    filled = [(n, r) for n, r in table if any(str(v or "").strip() for v in r)]
    if not filled:
        return {}
    header = [str(v or "").strip().replace(" ", "") for v in filled[0][1]]
    if RESIT_COLUMN not in header:
        return {}
    column = header.index(RESIT_COLUMN)
    marks: dict[int, bool] = {}
    problems: list[Problem] = []
    for number, row in filled[1:]:
        value = str(row[column] if column < len(row) and row[column] is not None else "")
        value = value.strip().lower()
        if value in _YES:
            marks[number] = True
        elif value in _NO:
            marks[number] = False
        else:
            problems.append(Problem(number, RESIT_COLUMN, f"是 or 否 (yes or no), not {value!r}"))
    if problems:
        raise RosterRejected(problems)
    return marks


def request_roster(
    data: bytes, filename: str, session: str, occupation: str, level: int
) -> list[dict[str, Any]]:
    """The session's candidates as the request sends them: id_number, name, resit."""
    table = read_table(data, filename)
    rows, problems = parse_rows(table)
    if problems:
        raise RosterRejected(problems)
    marks = _resit_marks(table)
    mine = [r for r in rows if r.session == session]
    wrong = [
        Problem(r.row, "职业/等级", f"{r.occupation} level {r.level}, not {occupation} {level}")
        for r in mine
        if (r.occupation, r.level) != (occupation, level)
    ]
    if wrong:
        raise RosterRejected(wrong)
    if not mine:
        raise RosterRejected([Problem(None, "场次", f"no candidate of session {session!r}")])
    return [
        {"id_number": r.id_number, "name": r.name, "resit": marks.get(r.row, False)} for r in mine
    ]
