"""`cbt-server lab`: the seat map of a room exported and imported on the server itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.cli import main
from cbt_server.cli.core import run_in_db
from cbt_server.db.models import Room
from cbt_server.settings import load_settings


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_list_export_and_forget(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=str(tmp_path))

    async def add_room(session: AsyncSession) -> None:
        session.add(Room(code="R1", name="第一机房", seat_count=2))

    run_in_db(settings, add_room)
    base = ("--data-dir", str(tmp_path))
    seat_map = {
        "format": "cbt-seat-map",
        "version": 1,
        "room": "R1",
        "pcs": [
            {"hostname": "LAB-01", "macs": ["02:00:00:00:00:01"], "seat": 1, "spare": False},
            {"hostname": "LAB-02", "macs": ["02:00:00:00:00:02"], "seat": 2, "spare": False},
            {"hostname": "LAB-09", "macs": ["02:00:00:00:00:09"], "seat": None, "spare": True},
        ],
    }
    good = tmp_path / "seats.json"
    good.write_text(json.dumps(seat_map), encoding="utf-8")
    assert run(capsys, *base, "lab", "import", str(good))[1] == "room R1: 3 PCs mapped\n"

    code, out, _ = run(capsys, *base, "lab", "list", "--json")
    listed = {pc["hostname"]: (pc["room"], pc["seat"], pc["online"]) for pc in json.loads(out)}
    assert listed == {
        "LAB-01": ("R1", 1, False),
        "LAB-02": ("R1", 2, False),
        "LAB-09": ("R1", None, False),
    }
    code, out, _ = run(capsys, *base, "lab", "list")
    assert "LAB-09\tR1 spare\t-\toffline\t-" in out.splitlines()

    code, out, _ = run(capsys, *base, "lab", "export", "--room", "R1")
    assert code == 0 and json.loads(out) == seat_map

    bad = tmp_path / "bad.json"
    twice = json.loads(json.dumps(seat_map))
    twice["pcs"][1]["seat"] = 1
    bad.write_text(json.dumps(twice), encoding="utf-8")
    code, _, err = run(capsys, *base, "lab", "import", str(bad))
    assert code == 1 and "seat 1 of room R1 is given to LAB-01 and LAB-02" in err
    assert json.loads(run(capsys, *base, "lab", "export", "--room", "R1")[1]) == seat_map
    bad.write_text("{not json", encoding="utf-8")
    code, _, err = run(capsys, *base, "lab", "import", str(bad))
    assert code == 1 and "not a seat file" in err and "Traceback" not in err

    assert run(capsys, *base, "lab", "forget", "LAB-02")[0] == 0
    code, _, err = run(capsys, *base, "lab", "forget", "LAB-02")
    assert code == 1 and "no lab PC named 'LAB-02'" in err
    out_file = tmp_path / "out.json"
    assert run(capsys, *base, "lab", "export", "--room", "R1", "--out", str(out_file))[0] == 0
    exported = json.loads(out_file.read_text(encoding="utf-8"))
    assert [p["hostname"] for p in exported["pcs"]] == ["LAB-01", "LAB-09"]
    code, _, err = run(capsys, *base, "lab", "export", "--room", "NOPE")
    assert code == 1 and "no room with code 'NOPE'" in err
