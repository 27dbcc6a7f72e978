"""Results as a spreadsheet: one row per candidate, UTF-8 with a BOM (pure: no I/O).

The columns are the fields of the published document (`documents.Result`) with its
per-item rows summed up. The BOM makes Excel read the file as UTF-8, so Chinese names
show correctly. Every cell that a spreadsheet would take for a formula (starting with
= + - @, tab or carriage return) is prefixed with an apostrophe, so a name like
"=HYPERLINK(...)" stays text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from cbt_server.results.documents import SIGNATURE_FIELD, Result

BOM = "\ufeff"
# Per-result counts in place of the per-item rows, and whether the signature verifies.
SUMMARY_COLUMNS = ("items", "items_answered", "items_correct", "signature_valid")
# The document's fields in the model's order, the items summarised, the signature last.
COLUMNS: tuple[str, ...] = (
    *(name for name in Result.model_fields if name not in ("responses", SIGNATURE_FIELD)),
    *SUMMARY_COLUMNS,
    SIGNATURE_FIELD,
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """The text of one cell, defused against formula injection."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def summary_row(document: Mapping[str, Any], signature_valid: bool) -> list[str]:
    """The CSV row of one published result document."""
    items = document.get("responses") or []
    values: dict[str, Any] = {name: document.get(name) for name in COLUMNS}
    values["items"] = len(items)
    values["items_answered"] = sum(1 for item in items if item.get("response"))
    values["items_correct"] = sum(1 for item in items if item.get("correct"))
    values["signature_valid"] = signature_valid
    return [safe_cell(values[name]) for name in COLUMNS]


def to_csv_bytes(documents: Sequence[Mapping[str, Any]], valid: Sequence[bool]) -> bytes:
    """The whole export: BOM, header row, one row per result, CRLF line ends."""
    if len(documents) != len(valid):
        raise ValueError("one signature_valid flag per document is needed")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for document, ok in zip(documents, valid, strict=True):
        writer.writerow(summary_row(document, ok))
    return (BOM + buffer.getvalue()).encode("utf-8")
