"""The statistics as an Excel workbook (openpyxl): the test, the items, the slots and,
for the centre, the items across sites. Headers are Chinese first, English second."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet.worksheet import Worksheet

TEST_ROWS = (
    ("n", "人数 Candidates"),
    ("mean", "平均分 Mean"),
    ("median", "中位数 Median"),
    ("sd", "标准差 SD"),
    ("min", "最低分 Min"),
    ("max", "最高分 Max"),
    ("pass_rate", "合格率 Pass rate"),
    ("skewness", "偏度 Skewness"),
    ("excess_kurtosis", "峰度 Excess kurtosis"),
    ("alpha", "信度 Cronbach's alpha"),
    ("alpha_k", "信度题数 K"),
    ("alpha_n", "信度人数 Candidates in alpha"),
    ("sem", "测量标准误 SEM"),
)
FIGURE_COLUMNS = (
    ("n", "人数 n"),
    ("type", "题型 Type"),
    ("facility", "难度 Facility"),
    ("sd", "标准差 SD"),
    ("discrimination_index", "区分度 D"),
    ("point_biserial", "点二列相关 r_pb"),
    ("omitted", "未作答 Omitted"),
)


def _append(sheet: Worksheet, values: Sequence[Any]) -> None:
    """Append a row; text is always text (openpyxl takes a string starting with "=" for
    a formula, and item ids and labels come from the sites' results)."""
    sheet.append([_text(v) if isinstance(v, str) else v for v in values])
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str) and cell.value.startswith("="):
            cell.data_type = "s"


def _text(value: str) -> str:
    """Text without the control characters a workbook cannot hold (shown as U+FFFD)."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return value


def _labels(rows: Iterable[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(label for row in rows for label in row["options"]))


def _table(sheet: Worksheet, first: Sequence[tuple[str, str]], rows: list[dict[str, Any]]) -> None:
    labels = _labels(rows)
    _append(
        sheet,
        [title for _, title in first]
        + [title for _, title in FIGURE_COLUMNS]
        + [f"选 {label}" for label in labels]
        + ["标记 Flags"],
    )
    for row in rows:
        _append(
            sheet,
            [_cell(row[key]) for key, _ in first]
            + [row[key] for key, _ in FIGURE_COLUMNS]
            + [row["options"].get(label) for label in labels]
            + [_cell(row["flags"])],
        )
    sheet.freeze_panes = "B2"


def write_workbook(
    path: Path, answer: dict[str, Any] | None, sites: dict[str, Any] | None = None
) -> None:
    """Write the statistics answer (and the cross-site comparison) to `path`."""
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    if answer is not None:
        test = book.create_sheet("试卷 Test")
        _append(test, ["指标 Figure", "值 Value"])
        for key, title in TEST_ROWS:
            _append(test, [title, answer["test"][key]])
        for key, value in answer["selection"].items():
            _append(test, [f"选择 {key}", value])
        items = [{"item_id": item_id, **row} for item_id, row in answer["items"].items()]
        _table(book.create_sheet("试题 Items"), [("item_id", "试题 Item")], items)
        _table(
            book.create_sheet("题位 Slots"),
            [("slot", "题位 Slot"), ("item_ids", "试题 Items")],
            answer["slots"],
        )
    if sites is not None:
        sheet = book.create_sheet("考点对比 Sites")
        names = sites["sites"]
        _append(
            sheet,
            ["试题 Item", "人数 n", "难度 Facility (pooled)"]
            + [f"{name} 难度" for name in names]
            + [f"{name} 人数" for name in names]
            + ["最大差 Max gap", "考点 Site", "标记 Flags"],
        )
        for item_id, row in sites["items"].items():
            per = row["sites"]
            _append(
                sheet,
                [item_id, row["n"], row["facility"]]
                + [per[name]["facility"] for name in names]
                + [per[name]["n"] for name in names]
                + [row["max_gap"], row["max_gap_site"], _cell(row["flags"])],
            )
        sheet.freeze_panes = "B2"
    book.save(path)
