"""Spreadsheet importer: the 题型/题干/选项A…/答案 layout in .xlsx and in UTF-8/GBK CSV."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from item_bank.importers.base import Classification
from item_bank.importers.xlsx_csv import decode_csv, import_csv, import_xlsx

HEADER = [
    "题型",
    "题干",
    "选项A",
    "选项B",
    "选项C",
    "选项D",
    "选项E",
    "答案",
    "分值",
    "难度",
    "知识点",
]
ROWS: list[list[Any]] = [
    ["单选题", "电流的单位是（  ）。", "安培", "伏特", "欧姆", "瓦特", None, "A", 1, 1, "DG01"],
    ["多选", "下列属于导体的有（  ）。", "铜", "铝", "橡胶", "银", None, "A,B,D", 2, 2, "DG01"],
    [
        "多选题",
        "三相电源的连接方式有（  ）。",
        "星形",
        "三角形",
        "串联",
        None,
        None,
        "AB",
        2,
        3,
        "DG02",
    ],
    ["判断题", "电压的单位是伏特。", None, None, None, None, None, "√", 1, 1, "DG01"],
    ["判断", "绝缘体在任何条件下都不导电。", "正确", "错误", None, None, None, "错", 1, 2, "DG02"],
    [
        "单选",
        "交流电的频率单位是（  ）。",
        "赫兹",
        "秒",
        None,
        None,
        None,
        "a",
        None,
        "中等",
        "DG02",
    ],
]


def write_xlsx(
    path: Path, rows: list[list[Any]], header: list[str] = HEADER, title: str | None = None
) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "题库"
    if title:
        sheet.append([title])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def write_csv(path: Path, rows: list[list[Any]], encoding: str, header: list[str] = HEADER) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


ELECTRICIAN = Classification(occupation="electrician", level=3)


def check_good_items(items: tuple[Any, ...]) -> None:
    assert [item.type for item in items] == [
        "single", "multiple", "multiple", "true_false", "true_false", "single",
    ]  # fmt: skip
    single, multi, multi2, tf_true, tf_false, small = items
    assert single.key == ("A",) and single.option_ids == ("A", "B", "C", "D")
    assert [o.text for o in single.options] == ["安培", "伏特", "欧姆", "瓦特"]
    assert multi.key == ("A", "B", "D") and multi.score == 2
    assert multi2.key == ("A", "B") and len(multi2.options) == 3
    assert tf_true.key == ("true",) and tf_true.options == ()
    assert tf_false.key == ("false",) and tf_false.options == ()
    assert small.key == ("A",) and small.difficulty == 3 and small.score == 1
    assert all(item.occupation == "electrician" and item.level == 3 for item in items)
    assert single.knowledge_point == "DG01" and single.difficulty == 1
    assert len({item.id for item in items}) == len(items)


def test_xlsx_good_file(tmp_path: Path) -> None:
    result = import_xlsx(write_xlsx(tmp_path / "bank.xlsx", ROWS), ELECTRICIAN)
    assert result.errors == ()
    check_good_items(result.items)
    assert result.items[0].source is not None
    assert result.items[0].source.location == "sheet 题库, row 2"


def test_xlsx_header_below_a_title_row_and_ids_from_column(tmp_path: Path) -> None:
    header = ["试题编号", "职业", "等级", *HEADER, "解析"]
    rows = [["DG-0001", "电工", "高级", *ROWS[0], "安培是电流单位"]]
    result = import_xlsx(write_xlsx(tmp_path / "b.xlsx", rows, header, title="电工高级题库"))
    assert result.errors == ()
    (item,) = result.items
    assert item.id == "DG-0001" and item.occupation == "electrician" and item.level == 3
    assert item.explanation == "安培是电流单位"
    assert item.source is not None and item.source.location == "sheet 题库, row 3"


def test_generated_ids_are_stable_across_imports(tmp_path: Path) -> None:
    first = import_xlsx(write_xlsx(tmp_path / "a.xlsx", ROWS), ELECTRICIAN)
    second = import_csv(write_csv(tmp_path / "a.csv", ROWS, "utf-8"), ELECTRICIAN)
    assert [i.id for i in first.items] == [i.id for i in second.items]
    assert first.items[0].id.startswith("electrician-3-")


def test_xlsx_bad_row_imports_nothing_and_names_row_and_column(tmp_path: Path) -> None:
    rows = [list(row) for row in ROWS]
    rows[2][7] = "AG"  # 答案 names a letter that is no option
    rows[4][0] = "问答题"  # unsupported type
    result = import_xlsx(write_xlsx(tmp_path / "bad.xlsx", rows), ELECTRICIAN)
    assert result.items == ()
    locations = {issue.location: issue.reason for issue in result.errors}
    assert "sheet 题库, row 4, column 答案" in locations
    assert "'AG'" in locations["sheet 题库, row 4, column 答案"]
    assert "sheet 题库, row 6, column 题型" in locations
    assert len(result.errors) == 2


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_in_each_encoding(tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "bank.csv", ROWS, encoding)
    if encoding == "gbk":
        with pytest.raises(UnicodeDecodeError):
            path.read_bytes().decode("utf-8")  # really not UTF-8
    result = import_csv(path, ELECTRICIAN)
    assert result.errors == ()
    check_good_items(result.items)
    assert result.items[0].stem == "电流的单位是（  ）。"


def test_csv_bad_row_reports_the_row_number_and_imports_nothing(tmp_path: Path) -> None:
    rows = [list(row) for row in ROWS]
    rows[3][9] = 7  # 难度 out of range, on spreadsheet row 5
    result = import_csv(write_csv(tmp_path / "bad.csv", rows, "gbk"), ELECTRICIAN)
    assert result.items == ()
    (issue,) = result.errors
    assert issue.location == "row 5, column 难度"
    assert "'7'" in issue.reason


@pytest.mark.parametrize(
    ("row_patch", "column", "reason"),
    [
        ({0: "单选题", 7: ""}, "答案", "is empty"),
        ({0: "单选题", 7: "AB"}, "答案", "exactly one key"),
        ({0: "多选题", 7: "A"}, "答案", "two or more keys"),
        ({0: "多选题", 7: "AA"}, "答案", "twice"),
        ({0: "判断题", 7: "也许"}, "答案", "对/错"),
        ({0: "单选题", 3: None}, "选项B", "later option is filled"),
        ({0: "单选题", 1: "  "}, "题干", "is empty"),
        ({0: "单选题", 8: "-1"}, "分值", "positive"),
        ({0: "单选题", 8: "一分"}, "分值", "not a number"),
        ({0: "单选题", 10: None}, "知识点", "is empty"),
        ({0: "判断题", 7: "对"}, "选项A", "no options"),
    ],
)
def test_each_bad_cell_is_reported(
    tmp_path: Path, row_patch: dict[int, Any], column: str, reason: str
) -> None:
    row = list(ROWS[0])
    for index, value in row_patch.items():
        row[index] = value
    result = import_csv(write_csv(tmp_path / "one.csv", [row], "utf-8"), ELECTRICIAN)
    assert result.items == ()
    assert any(
        issue.location == f"row 2, column {column}" and reason in issue.reason
        for issue in result.errors
    ), result.errors


def test_true_false_answer_spellings(tmp_path: Path) -> None:
    answers = {
        "对": "true",
        "√": "true",
        "正确": "true",
        "T": "true",
        "错": "false",
        "×": "false",
        "错误": "false",
        "F": "false",
    }
    rows = [
        ["判断题", f"判断{n}", None, None, None, None, None, a, 1, 1, "K"]
        for n, a in enumerate(answers)
    ]
    result = import_csv(write_csv(tmp_path / "tf.csv", rows, "utf-8"), ELECTRICIAN)
    assert result.errors == ()
    assert [item.key[0] for item in result.items] == list(answers.values())


def test_missing_required_column_and_missing_header(tmp_path: Path) -> None:
    header = [h for h in HEADER if h != "答案"]
    rows = [[v for i, v in enumerate(ROWS[0]) if i != 7]]
    result = import_csv(write_csv(tmp_path / "nokey.csv", rows, "utf-8", header), ELECTRICIAN)
    assert result.items == ()
    assert result.errors[0].location == "header" or "row 1" in result.errors[0].location
    assert "required column 答案 is missing" in result.errors[0].reason
    path = tmp_path / "junk.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    assert "no header row" in import_csv(path).errors[0].reason


def test_difficulty_and_knowledge_point_may_come_from_parameters(tmp_path: Path) -> None:
    header = ["题型", "题干", "选项A", "选项B", "答案"]
    rows = [["单选题", "接地电阻用（  ）测量。", "接地电阻测量仪", "万用表", "A"]]
    path = write_csv(tmp_path / "min.csv", rows, "utf-8", header)
    assert not import_csv(path).ok  # 难度 and 知识点 come from nowhere
    result = import_csv(path, Classification("electrician", 3, "DG05", 2))
    assert result.errors == ()
    assert result.items[0].knowledge_point == "DG05" and result.items[0].difficulty == 2


def test_duplicate_rows_are_reported(tmp_path: Path) -> None:
    result = import_csv(write_csv(tmp_path / "dup.csv", [ROWS[0], ROWS[0]], "utf-8"), ELECTRICIAN)
    assert result.items == ()
    assert "row 3" in result.errors[0].location and "already used" in result.errors[0].reason


def test_unknown_occupation_in_a_row(tmp_path: Path) -> None:
    header = ["职业", *HEADER]
    result = import_csv(write_csv(tmp_path / "occ.csv", [["厨师", *ROWS[0]]], "utf-8", header))
    assert result.errors[0].location == "row 2, column 职业"


def test_not_a_workbook_and_zip_bomb_like_xlsx(tmp_path: Path) -> None:
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"this is not a zip")
    assert "not a usable .xlsx" in import_xlsx(fake).errors[0].reason
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))
    reason = import_xlsx(bomb).errors[0].reason
    assert "zip bomb" in reason


def test_decode_csv_rejects_undecodable_bytes() -> None:
    assert decode_csv("题型".encode()) == "题型"
    assert decode_csv("题型".encode("gbk")) == "题型"
    assert decode_csv(b"\x81\x20\xff\xfe\x81") is None
