"""The per-occupation score summary the centre reports upward, as an xlsx workbook.

One row per occupation and level of the re-graded results: candidates, passed, pass
rate, mean, highest, lowest, how many are final, and the ten score bands. Text cells
that a spreadsheet could read as a formula are prefixed with `'`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Font

from cbt_server.centre.dashboard import GroupSummary
from cbt_server.paperwork.figures import BAND_COUNT, band_label
from item_bank.catalogue import LEVELS, OCCUPATIONS

_NAMES = {o.code: o.name_zh for o in OCCUPATIONS}
HEADERS = (
    "职业 Occupation",
    "职业代码 Code",
    "等级 Level",
    "人数 Candidates",
    "合格 Passed",
    "合格率 Pass rate",
    "平均分 Mean",
    "最高分 Highest",
    "最低分 Lowest",
    "已签 Final",
    *(f"{band_label(i)} 分" for i in range(BAND_COUNT)),
)


def _text(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def summary_workbook(groups: Sequence[GroupSummary]) -> bytes:
    """The xlsx file's bytes."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = "成绩汇总"
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for group in groups:
        f = group.figures
        level_name = LEVELS.get(group.level, (str(group.level), ""))[0]
        sheet.append(
            [
                _text(_NAMES.get(group.occupation, group.occupation)),
                _text(group.occupation),
                f"{level_name}（{group.level}级）",
                f.sat,
                f.passed,
                None if f.pass_rate is None else round(f.pass_rate, 4),
                f.mean,
                f.highest,
                f.lowest,
                group.final,
                *f.bands,
            ]
        )
        sheet.cell(row=sheet.max_row, column=6).number_format = "0.0%"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
