"""What every importer returns: the items of one file, or every reason it was rejected."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from item_bank.model import Item


def reason_of(error: BaseException) -> str:
    """What went wrong, never empty: some openpyxl and zipfile errors have no message."""
    text = str(error).strip()
    return text if text else f"{type(error).__name__} {error!r}".strip()


# Large enough for a real bank, small enough that a stray huge file fails fast.
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ImportIssue:
    """One problem: the file, where in it (row/line/element and field), and why."""

    source: str
    location: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.source}: {self.location}" if self.location else self.source
        return f"{where}: {self.reason}"

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "location": self.location, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class ImportResult:
    """The outcome for one file. `items` is empty whenever `errors` is not."""

    source: str
    items: tuple[Item, ...] = ()
    errors: tuple[ImportIssue, ...] = ()
    warnings: tuple[ImportIssue, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.errors

    @classmethod
    def build(
        cls,
        source: str,
        items: list[Item],
        errors: list[ImportIssue],
        warnings: list[ImportIssue] | None = None,
    ) -> ImportResult:
        """All-or-nothing: drop every item when the file has any error."""
        return cls(
            source=source,
            items=() if errors else tuple(items),
            errors=tuple(errors),
            warnings=tuple(warnings or ()),
        )

    @classmethod
    def failed(cls, source: str, location: str, reason: str) -> ImportResult:
        return cls(source=source, errors=(ImportIssue(source, location, reason),))


@dataclass(frozen=True, slots=True)
class Classification:
    """Fields to give items whose format does not carry them (CLI --occupation etc.).

    `occupation` is a catalogue code; importers fill only fields the source leaves empty.
    """

    occupation: str | None = None
    level: int | None = None
    knowledge_point: str | None = None
    difficulty: int | None = None


# Parses one file's bytes: (the path, its name as reported, the bytes) -> the result.
ParseFile = Callable[[Path, str, bytes], ImportResult]


def import_file(path: str | Path, parse: ParseFile) -> ImportResult:
    """Read a source file and parse it, or fail it unread when too large or unreadable."""
    path = Path(path)
    source = str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return ImportResult.failed(source, "", f"file is larger than {MAX_FILE_BYTES} bytes")
        raw = path.read_bytes()
    except OSError as exc:
        return ImportResult.failed(source, "", f"cannot read file: {exc.strerror or exc}")
    return parse(path, source, raw)
