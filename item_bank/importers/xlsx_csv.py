"""Importer for the spreadsheet layout Chinese assessment centres use (.xlsx and .csv).

One item per row under a header row with the columns 题型, 题干, 选项A…选项F, 答案, 分值,
难度, 知识点 and optionally 试题编号 (or ID), 职业, 等级, 解析. The header may sit below a
title row (it is looked for in the first 10 rows). CSV may be UTF-8 (with or without
BOM) or GBK/GB18030; the encoding is detected. Rows are numbered as a spreadsheet shows
them (the first row of the file is row 1). A file with any bad row imports nothing.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from item_bank import catalogue
from item_bank.importers.base import (
    Classification,
    ImportIssue,
    ImportResult,
    import_file,
    reason_of,
)
from item_bank.importers.safezip import SafeZip, UnsafeZip
from item_bank.importers.sheets import SheetTooLarge, workbook_sheets
from item_bank.model import Item, ItemType, Option, SourceRef
from item_bank.text import clean_text
from item_bank.validate import item_problems

LETTERS = "ABCDEF"
HEADER_SEARCH_ROWS = 10
MAX_ROWS = 50_000
"""Rows with data in one sheet (a bank of 50,000 items is far past any real one)."""
MAX_COLUMNS = 100

TYPE_NAMES: dict[str, ItemType] = {
    "单选": "single",
    "单选题": "single",
    "单项选择": "single",
    "单项选择题": "single",
    "single": "single",
    "多选": "multiple",
    "多选题": "multiple",
    "多项选择": "multiple",
    "多项选择题": "multiple",
    "multiple": "multiple",
    "判断": "true_false",
    "判断题": "true_false",
    "true_false": "true_false",
}
TRUE_WORDS = {"对", "√", "✓", "✔", "正确", "是", "t", "true", "y", "yes"}
FALSE_WORDS = {"错", "×", "✗", "✘", "x", "错误", "否", "f", "false", "n", "no"}
DIFFICULTY_WORDS = {"易": 1, "较易": 2, "中": 3, "中等": 3, "较难": 4, "难": 5}
KEY_SEPARATORS = re.compile(r"[\s,，、;；/]+")

# canonical column -> accepted header spellings (after removing spaces)
COLUMNS: dict[str, tuple[str, ...]] = {
    "题型": ("题型", "试题类型"),
    "题干": ("题干", "试题内容", "题目"),
    "答案": ("答案", "正确答案", "标准答案"),
    "分值": ("分值", "分数"),
    "难度": ("难度",),
    "知识点": ("知识点", "知识点编码", "知识点代码"),
    "试题编号": ("试题编号", "id", "ID", "Id"),
    "职业": ("职业", "职业名称"),
    "等级": ("等级", "级别"),
    "解析": ("解析", "试题解析", "答案解析"),
    **{f"选项{letter}": (f"选项{letter}", f"选项{letter.lower()}") for letter in LETTERS},
}
REQUIRED = ("题型", "题干", "答案", "难度", "知识点")
_ALIASES = {alias: name for name, aliases in COLUMNS.items() for alias in aliases}


def import_xlsx(path: str | Path, classification: Classification | None = None) -> ImportResult:
    """Import every sheet of an .xlsx workbook that has data."""
    return import_file(path, lambda _path, source, raw: parse_xlsx(raw, source, classification))


def parse_xlsx(
    raw: bytes, source: str, classification: Classification | None = None
) -> ImportResult:
    """Import the bytes of an .xlsx workbook; `source` names it in problems."""
    try:
        SafeZip(raw)  # size, ratio and name checks before openpyxl unpacks anything
    except UnsafeZip as exc:
        return ImportResult.failed(source, "", f"not a usable .xlsx file: {exc}")
    try:
        sheets = list(workbook_sheets(raw, max_rows=MAX_ROWS, max_columns=MAX_COLUMNS))
    except SheetTooLarge as exc:
        return ImportResult.failed(source, "", f"workbook too large: {exc}")
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types on bad files
        return ImportResult.failed(source, "", f"not a readable .xlsx workbook: {reason_of(exc)}")
    errors: list[ImportIssue] = []
    items: list[Item] = []
    warnings: list[ImportIssue] = []
    data_sheets = [(name, rows) for name, rows in sheets if rows]
    if not data_sheets:
        return ImportResult.failed(source, "", "the workbook has no rows")
    for name, rows in data_sheets:
        table = _Table(source, f"sheet {name}, ", classification or Classification())
        table.read(rows)
        errors += table.errors
        warnings += table.warnings
        items += table.items
    errors += _duplicate_errors(source, items)
    return ImportResult.build(source, items, errors, warnings)


def import_csv(path: str | Path, classification: Classification | None = None) -> ImportResult:
    """Import a CSV file in UTF-8 (BOM optional) or GBK/GB18030."""
    return import_file(path, lambda _path, source, raw: parse_csv(raw, source, classification))


def parse_csv(
    raw: bytes, source: str, classification: Classification | None = None
) -> ImportResult:
    """Import CSV bytes already in memory; `source` names them in messages."""
    text = decode_csv(raw)
    if text is None:
        return ImportResult.failed(source, "", "CSV is neither UTF-8 nor GBK/GB18030 text")
    rows: list[tuple[int, list[Any]]] = []
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            rows.append((number, list(row)))
    except csv.Error as exc:
        return ImportResult.failed(source, f"row {len(rows) + 1}", f"malformed CSV: {exc}")
    table = _Table(source, "", classification or Classification())
    table.read(rows)
    errors = table.errors + _duplicate_errors(source, table.items)
    return ImportResult.build(source, table.items, errors, table.warnings)


def decode_csv(raw: bytes) -> str | None:
    """Decode CSV bytes: UTF-8 with BOM, UTF-16 with BOM, UTF-8, else GB18030 (GBK)."""
    if raw.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "gb18030"]
    for encoding in candidates:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _has(value: Any) -> bool:
    return value is not None and str(value).strip() != ""


def _cell_text(value: Any) -> str:
    """A cell as text: numbers without a spurious '.0', booleans as true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


@dataclass
class _Row:
    number: int
    cells: dict[str, str]


class _Table:
    """One sheet (or CSV file): finds the header, then turns each row into an item."""

    def __init__(self, source: str, prefix: str, classification: Classification) -> None:
        self.source = source
        self.prefix = prefix
        self.defaults = classification
        self.errors: list[ImportIssue] = []
        self.warnings: list[ImportIssue] = []
        self.items: list[Item] = []

    def fail(self, row: int | None, column: str | None, reason: str) -> None:
        where = self.prefix + (f"row {row}" if row is not None else "header")
        if column:
            where += f", column {column}"
        self.errors.append(ImportIssue(self.source, where, reason))

    def read(self, rows: Sequence[tuple[int, list[Any]]]) -> None:
        header_at = self._find_header(rows)
        if header_at is None:
            self.fail(None, None, "no header row with 题型 and 题干 in the first 10 rows")
            return
        number, header = rows[header_at]
        columns = self._columns(number, header)
        if columns is None:
            return
        for row_number, values in rows[header_at + 1 :]:
            cells = {
                name: _cell_text(values[index]) if index < len(values) else ""
                for name, index in columns.items()
            }
            if any(cells.values()):
                self._row(_Row(row_number, cells))
        if not self.items and not self.errors:
            self.fail(None, None, "the header is not followed by any item rows")

    def _find_header(self, rows: Sequence[tuple[int, list[Any]]]) -> int | None:
        for index, (_, values) in enumerate(rows[:HEADER_SEARCH_ROWS]):
            names = {_ALIASES.get(_header_text(v)) for v in values}
            if "题型" in names and "题干" in names:
                return index
        return None

    def _columns(self, number: int, header: list[Any]) -> dict[str, int] | None:
        columns: dict[str, int] = {}
        ok = True
        for index, value in enumerate(header):
            text = _header_text(value)
            if not text:
                continue
            name = _ALIASES.get(text)
            if name is None:
                self.warnings.append(
                    ImportIssue(
                        self.source, f"{self.prefix}row {number}", f"column {text!r} is not used"
                    )
                )
            elif name in columns:
                self.fail(number, text, f"column {name} appears twice")
                ok = False
            else:
                columns[name] = index
        for name in REQUIRED:
            if name not in columns and not self._default_for(name):
                self.fail(number, None, f"required column {name} is missing")
                ok = False
        return columns if ok else None

    def _default_for(self, name: str) -> bool:
        return (name == "难度" and self.defaults.difficulty is not None) or (
            name == "知识点" and self.defaults.knowledge_point is not None
        )

    def _row(self, row: _Row) -> None:
        before = len(self.errors)
        cells = row.cells

        def fail(column: str | None, reason: str) -> None:
            self.fail(row.number, column, reason)

        kind = TYPE_NAMES.get(cells.get("题型", "").replace(" ", ""))
        if kind is None:
            fail("题型", f"{cells.get('题型', '')!r} is not 单选/单选题/多选/多选题/判断/判断题")
        stem = clean_text(cells.get("题干", ""))
        if not stem:
            fail("题干", "is empty")
        # Options and key are read per type; with an unknown type they would only add
        # noise to the one real error.
        options = self._options(row, kind, fail) if kind else ()
        key = self._key(cells.get("答案", ""), kind, fail) if kind else ()
        score = self._score(cells.get("分值", ""), fail)
        difficulty = self._difficulty(cells.get("难度", ""), fail)
        knowledge_point = cells.get("知识点", "") or self.defaults.knowledge_point
        if not knowledge_point:
            fail("知识点", "is empty")
        occupation = self._occupation(cells.get("职业", ""), fail)
        level = self._level(cells.get("等级", ""), fail)
        explanation = clean_text(cells.get("解析", "")) or None
        if len(self.errors) > before or kind is None:
            return
        item_id = cells.get("试题编号", "") or _generated_id(kind, stem, options, occupation, level)
        item = Item(
            id=item_id,
            type=kind,
            stem=stem,
            key=key,
            options=options,
            occupation=occupation,
            level=level,
            knowledge_point=knowledge_point,
            difficulty=difficulty,
            score=score,
            explanation=explanation,
            source=SourceRef(self.source, f"{self.prefix}row {row.number}"),
        )
        for field, reason in item_problems(item):
            fail(_column_of(field), reason)
        if len(self.errors) == before:
            self.items.append(item)

    def _options(self, row: _Row, kind: ItemType | None, fail: Any) -> tuple[Option, ...]:
        texts = [clean_text(row.cells.get(f"选项{letter}", "")) for letter in LETTERS]
        while texts and not texts[-1]:
            texts.pop()
        if kind == "true_false":
            if texts and not _is_true_false_pair(texts):
                fail("选项A", "判断题 has no options (leave 选项 columns empty)")
            return ()
        for letter, text in zip(LETTERS, texts, strict=False):
            if not text:
                fail(f"选项{letter}", "is empty but a later option is filled")
        return tuple(
            Option(id=letter, text=text) for letter, text in zip(LETTERS, texts, strict=False)
        )

    def _key(self, text: str, kind: ItemType | None, fail: Any) -> tuple[str, ...]:
        if not text:
            fail("答案", "is empty")
            return ()
        if kind == "true_false":
            word = text.strip().lower()
            if word in TRUE_WORDS:
                return ("true",)
            if word in FALSE_WORDS:
                return ("false",)
            fail("答案", f"{text!r} is not 对/错, √/×, 正确/错误 or T/F")
            return ()
        letters = "".join(KEY_SEPARATORS.split(text)).upper()
        if not letters or any(letter not in LETTERS for letter in letters):
            fail("答案", f"{text!r} is not made of option letters A–F (e.g. A, ABD, A,B)")
            return ()
        if len(set(letters)) != len(letters):
            fail("答案", f"{text!r} names an option twice")
            return ()
        return tuple(letters)

    def _score(self, text: str, fail: Any) -> float:
        if not text:
            return 1.0
        try:
            score = float(text)
        except ValueError:
            fail("分值", f"{text!r} is not a number")
            return 1.0
        if not score > 0 or score == float("inf"):
            fail("分值", f"{text!r} must be a positive number")
        return score

    def _difficulty(self, text: str, fail: Any) -> int | None:
        if not text:
            if self.defaults.difficulty is None:
                fail("难度", "is empty")
            return self.defaults.difficulty
        if text in DIFFICULTY_WORDS:
            return DIFFICULTY_WORDS[text]
        if text.isdigit() and 1 <= int(text) <= 5:
            return int(text)
        fail("难度", f"{text!r} is not 1..5 (or 易/较易/中等/较难/难)")
        return None

    def _occupation(self, text: str, fail: Any) -> str | None:
        if not text:
            return self.defaults.occupation
        try:
            return catalogue.occupation(text).code
        except catalogue.UnknownOccupation as exc:
            fail("职业", str(exc))
            return None

    def _level(self, text: str, fail: Any) -> int | None:
        if not text:
            return self.defaults.level
        try:
            return catalogue.level(text)
        except catalogue.UnknownLevel as exc:
            fail("等级", str(exc))
            return None


def _header_text(value: Any) -> str:
    return re.sub(r"[\s\u3000]+", "", _cell_text(value))


def _is_true_false_pair(texts: list[str]) -> bool:
    if len(texts) != 2:
        return False
    first, second = (t.strip().lower() for t in texts)
    return first in TRUE_WORDS and second in FALSE_WORDS


def _column_of(field: str) -> str:
    match = re.match(r"options\[(\d)\]", field)
    if match and int(match.group(1)) < len(LETTERS):
        return f"选项{LETTERS[int(match.group(1))]}"
    root = field.split(".")[0].split("[")[0]
    return {
        "id": "试题编号",
        "key": "答案",
        "options": "选项A",
        "difficulty": "难度",
        "knowledge_point": "知识点",
        "score": "分值",
        "stem": "题干",
        "occupation": "职业",
        "level": "等级",
        "mapping": "答案",
    }.get(root, root)


def _generated_id(
    kind: str,
    stem: str,
    options: Iterable[Option],
    occupation: str | None,
    level: int | None,
) -> str:
    """A stable id from the content, so re-importing the same sheet gives the same ids."""
    content = "\x1f".join([kind, stem, *(option.text for option in options)])
    digest = hashlib.sha256(content.encode("utf-8")).hexdigest()[:12]
    return f"{occupation or 'item'}-{level if level is not None else 'x'}-{digest}"


def _duplicate_errors(source: str, items: list[Item]) -> list[ImportIssue]:
    first: dict[str, str] = {}
    errors: list[ImportIssue] = []
    for item in items:
        where = item.source.location if item.source else ""
        if item.id in first:
            errors.append(
                ImportIssue(
                    source,
                    f"{where}, column 试题编号",
                    f"id {item.id!r} is already used at {first[item.id]}"
                    " (identical rows get identical generated ids)",
                )
            )
        else:
            first[item.id] = where
    return errors
