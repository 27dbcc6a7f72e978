"""GET /api/v1/results.csv: BOM, Chinese names round-trip, formula injection defused."""

from __future__ import annotations

import csv
import io

from sqlalchemy import text

from cbt_server.results.csv_export import BOM, COLUMNS, safe_cell
from tests.results.conftest import Site


def _rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


async def test_csv_has_bom_and_round_trips_chinese_names(site: Site) -> None:
    names = ["张三", "欧阳娜娜", "买买提·艾力"]
    tickets = [await site.seed.result("S1", name=name) for name in names]
    status, body, headers = await site.get("/api/v1/results.csv")
    assert status == 200
    assert body.startswith(b"\xef\xbb\xbf")
    assert headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="results-') and disposition.endswith(
        '.csv"'
    )
    assert body.count(b"\r\n") == 4  # header + one row per candidate
    rows = _rows(body)
    assert list(rows[0]) == list(COLUMNS)
    assert [(r["ticket"], r["name"]) for r in rows] == list(zip(tickets, names, strict=True))
    first = rows[0]
    assert (first["score"], first["passed"], first["items"], first["items_correct"]) == (
        "70.00",
        "true",
        "100",
        "70",
    )
    assert first["signature_valid"] == "true"


async def test_csv_filters_and_flags_tampered_rows(site: Site) -> None:
    a = await site.seed.result("S1", final=True)
    b = await site.seed.result("S2")
    status, body, headers = await site.get("/api/v1/results.csv", {"session": "S2"})
    assert status == 200
    assert [r["ticket"] for r in _rows(body)] == [b]
    assert "results-S2-" in headers["Content-Disposition"]
    status, body, _ = await site.get("/api/v1/results.csv", {"final": "true"})
    assert [r["ticket"] for r in _rows(body)] == [a]
    async with site.sessionmaker.begin() as db:
        await db.execute(text("UPDATE results SET score = 99"))
    status, body, _ = await site.get("/api/v1/results.csv")
    assert {r["signature_valid"] for r in _rows(body)} == {"false"}


async def test_formula_like_names_stay_text(site: Site) -> None:
    await site.seed.result("S1", name='=HYPERLINK("http://x","点我")')
    await site.seed.result("S1", name="@SUM(A1)")
    status, body, _ = await site.get("/api/v1/results.csv")
    names = [r["name"] for r in _rows(body)]
    assert names == ['\'=HYPERLINK("http://x","点我")', "'@SUM(A1)"]


def test_safe_cell() -> None:
    for dangerous in ("=1+1", "+1", "-1", "@A1", "\tx", "\rx"):
        assert safe_cell(dangerous) == "'" + dangerous
    assert safe_cell("张三") == "张三"
    assert safe_cell(None) == ""
    assert safe_cell(False) == "false"
    assert BOM.encode() == b"\xef\xbb\xbf"
