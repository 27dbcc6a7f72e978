"""The rows of an .xlsx workbook, streamed, whatever the file says about its own size.

openpyxl trusts a sheet's `<dimension>`: one that declares `A1:XFD1048576` makes it pad
every row to 16,384 cells and yield a million rows (a 2 KB file took gigabytes), and a
stale one (`A1:G2` over three rows) makes it stop early and drop rows silently. Here the
declared dimension is ignored (`reset_dimensions`), sheets are read in openpyxl's
read-only (streaming) mode, and the caps on rows and columns are enforced while reading,
so a hostile file is refused after reading no more than the caps allow.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

Rows = list[tuple[int, list[Any]]]
"""Rows numbered as a spreadsheet shows them (from 1), each a list of cell values."""


class SheetTooLarge(ValueError):
    """A sheet has more rows with data, or data in more columns, than allowed."""

    def __init__(self, message: str, *, rows: bool) -> None:
        super().__init__(message)
        self.rows = rows
        """True if the row limit was passed, False if the column limit."""


def column_name(number: int) -> str:
    """A column's letters as a spreadsheet shows them (1 -> A, 16384 -> XFD)."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _has(value: Any) -> bool:
    return value is not None and str(value).strip() != ""


def _sheet_rows(sheet: Any, max_rows: int, max_columns: int) -> Rows:
    sheet.reset_dimensions()  # the declared <dimension> may lie either way
    rows: Rows = []
    filled = 0
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        if not values:
            continue  # a row missing from the file: openpyxl yields it empty
        # A row's length is its last cell's column; cells past the cap are refused if
        # they hold anything and dropped if they are empty (formatting only).
        if len(values) > max_columns:
            beyond = [i for i, value in enumerate(values) if i >= max_columns and _has(value)]
            if beyond:
                raise SheetTooLarge(
                    f"sheet {sheet.title!r}: row {number} has data in column "
                    f"{column_name(beyond[0] + 1)}, beyond the limit of {max_columns} columns",
                    rows=False,
                )
            values = values[:max_columns]
        if not any(_has(value) for value in values):
            continue
        filled += 1
        if filled > max_rows:
            raise SheetTooLarge(
                f"sheet {sheet.title!r}: more than {max_rows} rows with data, the limit",
                rows=True,
            )
        rows.append((number, list(values)))
    return rows


def workbook_sheets(raw: bytes, *, max_rows: int, max_columns: int) -> Iterator[tuple[str, Rows]]:
    """Each sheet's title and its rows that hold data, in the workbook's order. Raises
    SheetTooLarge past a cap, and whatever openpyxl raises on a file it cannot read."""
    import openpyxl  # imported here: only spreadsheet imports pay for it

    workbook = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    try:
        for sheet in workbook.worksheets:
            yield sheet.title, _sheet_rows(sheet, max_rows, max_columns)
    finally:
        workbook.close()
