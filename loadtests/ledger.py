"""The ledger: what the simulated users did, one JSON object per line, one file per worker.

Each candidate writes one `{"kind": "candidate", ...}` line when it stops (also when it
fails), the proctor one `{"kind": "proctor", ...}` line, and the asyncio driver one
`{"kind": "generator", ...}` line about its own loop's stalls (`loopwatch.py`). Files are named
`ledger-<pid>.jsonl` so that several load-generator processes never share a file.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PATTERN = "ledger-*.jsonl"


class LedgerError(ValueError):
    """A ledger file cannot be read; the message names the file and line."""


class LedgerWriter:
    """Appends records to this process's ledger file; safe from several threads."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"ledger-{os.getpid()}.jsonl"
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)


def read_ledgers(directory: Path) -> Iterator[dict[str, Any]]:
    """Every record of every ledger file in `directory`."""
    for path in sorted(directory.glob(PATTERN)):
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError as exc:
                    raise LedgerError(f"{path.name} line {number}: not JSON ({exc})") from None
                if not isinstance(record, dict) or "kind" not in record:
                    raise LedgerError(f"{path.name} line {number}: not a ledger record")
                yield record
