"""A sheet's `<dimension>` is not believed: a tiny file declaring the whole sheet is
refused fast and small, and a stale one drops no rows (issue 18).

The hostile file is read in a child process under a 1.5 GB address-space limit, so
that a reader that believes the dimension fails here instead of taking the machine."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from cbt_server.enrolment.roster import RosterRejected, parse_rows, read_table
from item_bank.importers.base import reason_of
from item_bank.importers.sheets import SheetTooLarge, column_name, workbook_sheets
from item_bank.importers.xlsx_csv import parse_xlsx
from tests.handmade_xlsx import one_sheet, with_dimension
from tests.item_bank.test_xlsx_csv import ELECTRICIAN, HEADER, ROWS
from tests.runtime.test_roster import row, xlsx_bytes

_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time

    def high_water_mb():  # VmHWM starts afresh at exec (ru_maxrss keeps the parent's)
        with open("/proc/self/status") as status:
            line = next(l for l in status if l.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024

    resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024 * 1024,) * 2)
    from cbt_server.enrolment.roster import RosterRejected, read_table
    from item_bank.importers.xlsx_csv import parse_xlsx
    from tests.handmade_xlsx import far_corner
    data = far_corner()
    before = high_water_mb()
    started = time.perf_counter()
    if sys.argv[1] == "roster":
        try:
            read_table(data, "roster.xlsx")
            message = "accepted"
        except RosterRejected as error:
            message = str(error)
    else:
        message = "; ".join(e.reason for e in parse_xlsx(data, "bank.xlsx").errors)
    seconds = time.perf_counter() - started
    peak = high_water_mb()
    print(json.dumps({
        "message": message, "seconds": seconds, "peak_mb": peak, "added_mb": peak - before,
        "size": len(data),
    }))
    """
)


def _in_child(which: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, which], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout))


@pytest.mark.parametrize(("which", "limit"), [("roster", 64), ("bank", 100)])
def test_a_tiny_file_declaring_the_whole_sheet_is_refused_fast_and_small(
    which: str, limit: int
) -> None:
    seen = _in_child(which)
    assert seen["size"] < 2048
    expected = f"sheet '名单': row 1048576 has data in column XFD, beyond the limit of {limit}"
    assert expected in seen["message"], seen
    # The whole process, imports included, stays under 200 MB (reading adds ~30 MB).
    assert seen["peak_mb"] < 200, seen
    # Measured here at about 0.1 s; the bound is loose because the machine is shared.
    assert seen["seconds"] < 2, seen


def test_the_row_limit_counts_rows_with_data_and_names_the_sheet() -> None:
    gappy = one_sheet("A1:A1", {"A1": "a", "A500000": "b", "A1048576": "c"}, title="题库")
    [(title, rows)] = list(workbook_sheets(gappy, max_rows=3, max_columns=5))
    assert (title, rows) == ("题库", [(1, ["a"]), (500000, ["b"]), (1048576, ["c"])])
    with pytest.raises(SheetTooLarge, match=r"sheet '题库': more than 2 rows with data, the limit"):
        list(workbook_sheets(gappy, max_rows=2, max_columns=5))


def test_data_beyond_the_column_limit_names_the_column() -> None:
    data = one_sheet("A1:A1", {"A1": "准考证号", "BM1": "x"})
    with pytest.raises(RosterRejected, match=r"row 1 has data in column BM, beyond the limit"):
        read_table(data, "r.xlsx")
    assert column_name(64) == "BL" and column_name(16384) == "XFD"


def test_a_stale_dimension_drops_no_roster_row() -> None:
    stale = with_dimension(xlsx_bytes([row(1), row(2), row(3)]), "A1:G2")
    parsed, problems = parse_rows(read_table(stale, "r.xlsx"))
    assert problems == []
    assert [r.ticket for r in parsed] == ["T0001", "T0002", "T0003"]


def test_a_stale_dimension_drops_no_item() -> None:
    import io

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for values in [HEADER, *ROWS]:
        sheet.append(values)
    out = io.BytesIO()
    book.save(out)
    result = parse_xlsx(with_dimension(out.getvalue(), "A1:K2"), "bank.xlsx", ELECTRICIAN)
    assert result.errors == ()
    assert len(result.items) == len(ROWS)


def test_an_error_without_a_message_is_still_explained() -> None:
    assert reason_of(ValueError("bad cell")) == "bad cell"
    assert reason_of(MemoryError()) == "MemoryError MemoryError()"
    assert reason_of(KeyError("xl/workbook.xml")) == "'xl/workbook.xml'"
