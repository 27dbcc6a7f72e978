import os
from pathlib import Path

import pytest

from loadtests.ledger import LedgerError, LedgerWriter, read_ledgers


def test_records_round_trip_with_chinese_text(tmp_path: Path) -> None:
    writer = LedgerWriter(tmp_path / "ledger")
    assert writer.path.name == f"ledger-{os.getpid()}.jsonl"
    writer.write({"kind": "candidate", "ticket": "T1", "name": "王伟"})
    writer.write({"kind": "proctor", "start_at": 1.5})
    (tmp_path / "ledger" / "ledger-1.jsonl").write_text('{"kind": "candidate", "ticket": "T2"}\n')
    records = list(read_ledgers(tmp_path / "ledger"))
    assert {r.get("ticket") for r in records} == {"T1", "T2", None}
    assert any(r.get("name") == "王伟" for r in records)


def test_a_bad_line_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "ledger-7.jsonl").write_text('{"kind": "proctor"}\n\n{"kind": \n')
    with pytest.raises(LedgerError, match=r"ledger-7.jsonl line 3: not JSON"):
        list(read_ledgers(tmp_path))


def test_a_line_that_is_not_a_record_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ledger-8.jsonl").write_text("[1, 2]\n")
    with pytest.raises(LedgerError, match="line 1: not a ledger record"):
        list(read_ledgers(tmp_path))
