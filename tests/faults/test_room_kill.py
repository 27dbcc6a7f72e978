"""Fault at room scale: `python -m loadtests.room --kill-server-at 0.5` loses nothing.

The whole room harness (real server process, Locust candidates and proctor, results
pulled through the centre API) with the server killed by SIGKILL once half the room's
answers are stored and started again on the same database. Unshaped, so it runs without
root too; timing limits are the benchmark's business, not this test's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
CANDIDATES = 30


@pytest.mark.slow
def test_a_room_of_30_with_the_server_killed_half_way_loses_nothing(tmp_path: Path) -> None:
    report_path, details_path = tmp_path / "report.json", tmp_path / "details.json"
    done = subprocess.run(
        [
            sys.executable, "-m", "loadtests.room", "--candidates", str(CANDIDATES),
            "--kill-server-at", "0.5", "--link-mbit", "0", "--think-scale", "0.02",
            "--max-start-s", "60", "--json", str(report_path), "--details", str(details_path),
        ],
        env={**os.environ, "TMPDIR": str(tmp_path)},
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )  # fmt: skip
    assert report_path.exists(), done.stderr[-3000:]
    report = json.loads(report_path.read_text(encoding="utf-8"))
    details = json.loads(details_path.read_text(encoding="utf-8"))
    kill = details["server_kill"]
    assert kill["answers_stored_at_kill"] >= kill["target_answers"] > 0, kill
    assert kill["restarted_in_s"] >= 0, kill
    assert report["lost"] == 0, done.stderr[-3000:]
    assert report["candidates"] == report["completed"] == CANDIDATES, done.stderr[-3000:]
    assert report["answers_in_results"] == CANDIDATES * 100
    assert report["answers_sent"] >= report["answers_acknowledged"] >= CANDIDATES * 100
