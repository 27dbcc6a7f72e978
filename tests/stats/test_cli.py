"""`cbt-server stats`: the site's figures to JSON and Excel (the same as the API's), and
the centre's comparison of items across sites from the files `centre pull` keeps."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from cbt_server.cli import main
from cbt_server.settings import Settings
from tests.results.conftest import Site
from tests.stats import dataset
from tests.stats.reference import assert_same
from tests.stats.test_api import _stored


async def test_site_figures_to_json_and_excel(
    site: Site, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for document in dataset.documents(count=40):
        rows = [_stored(r) for r in document["responses"]]
        await site.seed.result("S1", ticket=document["ticket"], rows=rows)
    out_json, out_xlsx = tmp_path / "s1.json", tmp_path / "s1.xlsx"
    args = ["--data-dir", str(settings.data_path), "--database-url", settings.database_url]
    args += ["stats", "--session", "S1", "--json", str(out_json), "--xlsx", str(out_xlsx)]
    code = await asyncio.to_thread(main, args)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith("40 result(s), mean ")
    written = json.loads(out_json.read_text(encoding="utf-8"))
    status, served, _ = await site.get("/api/v1/statistics", {"session": "S1"})
    assert status == 200
    assert_same(written, served, "cli")
    book = openpyxl.load_workbook(out_xlsx, read_only=True)
    assert book.sheetnames == ["试卷 Test", "试题 Items", "题位 Slots"]
    items = list(book["试题 Items"].iter_rows(values_only=True))
    header, first = items[0], items[1]
    assert header[:4] == ("试题 Item", "人数 n", "题型 Type", "难度 Facility")
    assert first[0] == min(served["items"])
    assert first[3] == pytest.approx(served["items"][first[0]]["facility"])
    test_rows = {row[0]: row[1] for row in book["试卷 Test"].iter_rows(values_only=True)}
    assert test_rows["信度 Cronbach's alpha"] == pytest.approx(served["test"]["alpha"])
    assert len(list(book["题位 Slots"].iter_rows())) == 1 + len(served["slots"])


def _published(document: dict[str, Any], session: str) -> dict[str, Any]:
    return {**document, "session": session, "occupation": "electrician", "level": 3}


def _write_site(folder: Path, site: str, documents: list[dict[str, Any]]) -> None:
    lines = [json.dumps(d, ensure_ascii=False) for d in documents]
    (folder / f"{site}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _facilities(documents: list[dict[str, Any]]) -> dict[str, tuple[int, float]]:
    """(n, facility) of each item, counted plainly."""
    seen: dict[str, list[float]] = {}
    for d in documents:
        for r in d["responses"]:
            seen.setdefault(r["item_id"], []).append(float(r["score"]) / float(r["max_score"]))
    return {i: (len(xs), sum(xs) / len(xs)) for i, xs in seen.items()}


def _leaked(document: dict[str, Any]) -> dict[str, Any]:
    """At site b, s00 was known before the exam: everyone who had it chose A."""
    rows = [
        {**r, "response": ["A"], "score": "1.00"} if r["item_id"] == "s00" else r
        for r in document["responses"]
    ]
    total = sum(float(r["score"]) for r in rows)
    return {**document, "responses": rows, "score": f"{total:.2f}"}


def test_items_across_sites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site_a = [
        _published(d, "A1" if n % 2 else "A2") for n, d in enumerate(dataset.documents(120, seed=1))
    ]
    site_b = [_leaked(_published(d, "B1")) for d in dataset.documents(120, seed=2)]
    stale = {**site_b[0], "score": "0.00", "final": False}  # an earlier version of a result
    _write_site(tmp_path, "a", site_a)
    _write_site(tmp_path, "b", [stale, *site_b])
    (tmp_path / "b.rejected.jsonl").write_text("not even json\n", encoding="utf-8")
    out = tmp_path / "sites.json"
    xlsx = str(tmp_path / "s.xlsx")
    code = main(["stats", "--from-dir", str(tmp_path), "--json", str(out), "--xlsx", xlsx])
    printed, err = capsys.readouterr()
    assert code == 0, err
    assert printed.startswith("2 site(s), 240 result(s)")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["sites"]["b"]["n"] == 120
    assert data["sites"]["b"]["mean"] == pytest.approx(sum(float(d["score"]) for d in site_b) / 120)
    compared = data["comparison"]["items"]
    per_site = {"a": _facilities(site_a), "b": _facilities(site_b)}
    pooled = _facilities(site_a + site_b)
    for item_id, row in compared.items():
        assert (row["n"], row["facility"]) == pytest.approx(pooled[item_id])
        for name in ("a", "b"):
            n, facility = per_site[name].get(item_id, (0, None))
            assert row["sites"][name]["n"] == n
            want = None if facility is None else pytest.approx(facility)
            assert row["sites"][name]["facility"] == want
    first_id, first = next(iter(compared.items()))
    assert first_id == "s00" and first["max_gap_site"] == "b" and first["flags"] == ["site_outlier"]
    a_n, a_facility = per_site["a"]["s00"]
    assert first["max_gap"] == pytest.approx(1.0 - a_facility)
    assert compared["easy"]["max_gap"] == pytest.approx(0.0)
    assert compared["rare"]["max_gap"] is None  # fewer than 10 on a side
    book = openpyxl.load_workbook(tmp_path / "s.xlsx", read_only=True)
    assert book.sheetnames == ["考点对比 Sites"]


@pytest.mark.parametrize(
    ("flags", "count"),
    [
        (("--session", "A2"), 10),
        (("--final",), 15),
        (("--provisional", "--session", "A1"), 10),
        (("--occupation", "welder"), 0),
        (("--level", "3"), 30),
    ],
)
def test_filters_apply_to_pulled_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: tuple[str, ...], count: int
) -> None:
    docs = [
        {**_published(d, "A1" if n % 3 else "A2"), "final": n % 2 == 0}
        for n, d in enumerate(dataset.documents(30))
    ]
    _write_site(tmp_path, "a", docs)
    out = str(tmp_path / "o.json")
    code = main(["stats", "--from-dir", str(tmp_path), *flags, "--json", out])
    capsys.readouterr()
    assert code == 0
    data = json.loads((tmp_path / "o.json").read_text(encoding="utf-8"))
    assert data["selection"]["results"] == count


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "not a folder"),
        ("", "no <site>.jsonl files"),
        ('{"ticket": "T1"}\n{oops\n', "a.jsonl:2: JSON is malformed"),
        (
            '{"ticket": "T1", "passed": true, "responses": []}\n',
            "a.jsonl:1: Object missing required field `score`",
        ),
    ],
)
def test_unreadable_pulled_results_are_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, fragment: str
) -> None:
    folder = tmp_path / "pulled"
    if content is not None:
        folder.mkdir()
        if content:
            (folder / "a.jsonl").write_text(content, encoding="utf-8")
    code = main(["stats", "--from-dir", str(folder)])
    _, err = capsys.readouterr()
    assert code == 1
    assert fragment in err and "Traceback" not in err


def test_hostile_item_ids_stay_text_in_the_workbook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = ['=HYPERLINK("http://evil.example/","x")', "@SUM(1+1)", "bell\x07id"]
    documents = []
    for n, d in enumerate(dataset.documents(30)):
        rows = [
            {**r, "item_id": hostile[k % 3]} if k < 3 else r for k, r in enumerate(d["responses"])
        ]
        documents.append(_published({**d, "responses": rows}, f"A{n % 2}"))
    _write_site(tmp_path, "a", documents)
    _write_site(tmp_path, "=b", [_published(d, "B") for d in dataset.documents(30, seed=9)])
    code = main(["stats", "--from-dir", str(tmp_path), "--xlsx", str(tmp_path / "s.xlsx")])
    _, err = capsys.readouterr()
    assert code == 0, err
    sheet = openpyxl.load_workbook(tmp_path / "s.xlsx")["考点对比 Sites"]
    cells = [cell for row in sheet.iter_rows() for cell in row if isinstance(cell.value, str)]
    assert {c.data_type for c in cells} == {"s"}
    values = {c.value for c in cells}
    assert hostile[0] in values and hostile[1] in values and "bell\ufffdid" in values
    assert "=b 难度" in values
