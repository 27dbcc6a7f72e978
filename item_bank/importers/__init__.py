"""Importers for item files, and `import_paths` which runs them over many files.

Each importer reads one file and returns an `ImportResult`: all of its items, or none of
them and every problem found (file, location, reason). `import_paths` adds the bank-wide
rule that item ids are unique across files: a file reusing an id already imported from
an earlier file is rejected as a whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from item_bank.importers.base import Classification, ImportIssue, ImportResult
from item_bank.importers.native import import_native
from item_bank.importers.qti import import_qti
from item_bank.importers.xlsx_csv import import_csv, import_xlsx
from item_bank.model import Item

Format = Literal["auto", "native", "xlsx", "csv", "qti"]
FORMATS: tuple[Format, ...] = ("auto", "native", "xlsx", "csv", "qti")
SUFFIXES: dict[str, Format] = {
    ".yaml": "native",
    ".yml": "native",
    ".json": "native",
    ".xlsx": "xlsx",
    ".csv": "csv",
    ".xml": "qti",
    ".zip": "qti",
}
_BLUEPRINT = re.compile(rb"""^\s*["']?format["']?\s*:\s*["']?cbt-blueprint/""", re.MULTILINE)

__all__ = [
    "FORMATS",
    "BankImport",
    "blueprint_paths",
    "is_blueprint_file",
    "Classification",
    "ImportIssue",
    "ImportResult",
    "detect_format",
    "expand_paths",
    "import_csv",
    "import_file",
    "import_native",
    "import_paths",
    "import_qti",
    "import_xlsx",
]


def detect_format(path: Path) -> Format | None:
    """The importer for a file name, by its suffix."""
    return SUFFIXES.get(path.suffix.lower())


def import_file(
    path: str | Path, fmt: Format = "auto", classification: Classification | None = None
) -> ImportResult:
    """Import one file with the named importer (or the one its suffix implies)."""
    path = Path(path)
    chosen = detect_format(path) if fmt == "auto" else fmt
    if not path.exists():
        return ImportResult.failed(str(path), "", "file not found")
    if path.is_dir():
        return ImportResult.failed(str(path), "", "is a folder (pass it to import_paths)")
    if chosen is None:
        known = ", ".join(sorted(SUFFIXES))
        return ImportResult.failed(
            str(path), "", f"unknown file type {path.suffix or '(none)'} (known: {known})"
        )
    if chosen == "native":
        return import_native(path)
    if chosen == "xlsx":
        return import_xlsx(path, classification)
    if chosen == "csv":
        return import_csv(path, classification)
    if chosen == "qti":
        return import_qti(path, classification)
    return ImportResult.failed(str(path), "", f"unknown format {fmt!r}")


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders replaced by the item files below them, sorted.

    Inside folders, blueprint files (format: cbt-blueprint/...) and hidden files are
    skipped, so a folder holding a bank and its blueprints can be imported as is.
    """
    return _expand(paths, want_blueprints=False)


def blueprint_paths(paths: Iterable[str | Path]) -> list[Path]:
    """The blueprint files among `paths` and inside folders among them, sorted."""
    return _expand(paths, want_blueprints=True)


def _expand(paths: Iterable[str | Path], *, want_blueprints: bool) -> list[Path]:
    found: list[Path] = []
    for entry in paths:
        path = Path(entry)
        if not path.is_dir():
            # Named files are always item files to the importers (which then say when
            # one is a blueprint); only blueprint_paths picks blueprints out of them.
            if not want_blueprints or is_blueprint_file(path):
                found.append(path)
            continue
        for child in sorted(path.rglob("*")):
            relative = child.relative_to(path)
            if any(part.startswith(".") for part in relative.parts):
                continue
            if (
                child.is_file()
                and child.suffix.lower() in SUFFIXES
                and is_blueprint_file(child) == want_blueprints
            ):
                found.append(child)
    return found


def is_blueprint_file(path: Path) -> bool:
    """Whether a YAML/JSON file declares `format: cbt-blueprint/...` near its top."""
    if detect_format(path) != "native" or not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return bool(_BLUEPRINT.search(head))


@dataclass(frozen=True, slots=True)
class BankImport:
    """The outcome over many files: the accepted items and every rejection."""

    results: tuple[ImportResult, ...]

    @property
    def items(self) -> list[Item]:
        return [item for result in self.results for item in result.items]

    @property
    def errors(self) -> list[ImportIssue]:
        return [issue for result in self.results for issue in result.errors]

    @property
    def warnings(self) -> list[ImportIssue]:
        return [issue for result in self.results for issue in result.warnings]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        """The `--json` report: imported items (id, type, options, key) and rejections."""
        return {
            "imported": [
                {
                    "id": item.id,
                    "type": item.type,
                    "options": len(item.options),
                    "key": list(item.key),
                }
                for item in self.items
            ],
            "rejected": [issue.to_dict() for issue in self.errors],
        }


def import_paths(
    paths: Sequence[str | Path],
    fmt: Format = "auto",
    classification: Classification | None = None,
) -> BankImport:
    """Import files and folders; enforce unique ids across everything accepted."""
    results: list[ImportResult] = []
    owner: dict[str, str] = {}
    files: list[Path] = []
    for entry in paths:
        found = expand_paths([entry])
        if not found:
            known = ", ".join(sorted(SUFFIXES))
            results.append(
                ImportResult.failed(str(entry), "", f"folder holds no item files ({known})")
            )
        files += found
    for path in files:
        result = import_file(path, fmt, classification)
        if result.ok:
            clashes = [
                ImportIssue(
                    result.source,
                    item.source.location if item.source else "",
                    f"id {item.id!r} is already used in {owner[item.id]}",
                )
                for item in result.items
                if item.id in owner
            ]
            if clashes:
                result = ImportResult.build(result.source, [], clashes, list(result.warnings))
            else:
                owner.update({item.id: result.source for item in result.items})
        results.append(result)
    return BankImport(tuple(results))
