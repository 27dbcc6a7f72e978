"""docs/item-format.md stays true: its examples import, its column list matches the code."""

from __future__ import annotations

import re

from item_bank.blueprint import parse_blueprint
from item_bank.importers.base import Classification
from item_bank.importers.native import parse_native
from item_bank.importers.xlsx_csv import COLUMNS, parse_csv
from item_bank.parse import keep_src
from item_bank.yamlfile import load_yaml

from .conftest import REPO

DOC = (REPO / "docs" / "item-format.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, flags=re.DOTALL)


def test_native_example_imports_cleanly() -> None:
    (example,) = [b for b in blocks("yaml") if "cbt-items/1" in b]
    result = parse_native(example.encode(), "doc", json_syntax=False, resolve=keep_src)
    assert result.errors == ()
    assert [item.type for item in result.items] == ["single", "multiple", "true_false"]


def test_blueprint_example_is_valid() -> None:
    (example,) = [b for b in blocks("yaml") if "cbt-blueprint/1" in b]
    blueprint, problems = parse_blueprint(load_yaml(example))
    assert problems == [] and blueprint is not None


def test_csv_example_imports_cleanly() -> None:
    (example,) = blocks("csv")
    result = parse_csv(example.encode("utf-8"), "doc.csv", Classification("electrician", 3))
    assert result.errors == ()
    assert [item.key for item in result.items] == [("A",), ("A", "B", "D"), ("true",)]


def test_every_spreadsheet_column_is_documented() -> None:
    table = DOC[DOC.index("| column | required | content |") :]
    for column in COLUMNS:
        if column.startswith("选项"):
            continue
        assert f"| {column}" in table, column
    assert "选项A … 选项F" in table


def test_doc_has_no_machine_paths() -> None:
    assert not re.search(r"/(work|home)/\w+", DOC)
